// Package gnn holds the neural-network layers nag's models are built from
// (linear, normalisation, dropout, MLP, masked multi-head attention) and the
// graph models built on them. It knows nothing about a search space.
//
// Every layer is a plain struct of named parameters (autograd Vars) with a
// Forward method taking a Ctx: the tape to record on (nil for no-grad
// inference), whether dropout is active, and the RNG dropout draws from.
// Parameter names are hierarchical (blocks.3.attn.q.weight) and are the
// tensor names used in checkpoints.
package gnn

import (
	"fmt"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// Ctx is the per-call context every Forward receives.
type Ctx struct {
	// Tape records the operations for backpropagation; nil is no-grad mode.
	Tape *autograd.Tape
	// Train enables dropout.
	Train bool
	// RNG is the source dropout draws from (required when Train is set and
	// a dropout probability is positive).
	RNG *tensor.RNG
}

// Module is anything with parameters.
type Module interface {
	// Params returns the module's parameters in a fixed order, each with its
	// hierarchical name.
	Params() []*autograd.Var
}

// JoinName joins a parent prefix and a child name with a dot; an empty
// prefix yields the child name unchanged.
func JoinName(prefix, name string) string {
	if prefix == "" {
		return name
	}
	if name == "" {
		return prefix
	}
	return prefix + "." + name
}

// CollectParams concatenates the parameters of several modules (nil
// modules are skipped), in order.
func CollectParams(ms ...Module) []*autograd.Var {
	var out []*autograd.Var
	for _, m := range ms {
		if m == nil {
			continue
		}
		out = append(out, m.Params()...)
	}
	return out
}

// ParamMap returns the parameters of m by name. It fails if two parameters
// share a name or a parameter has no name (either would corrupt a
// checkpoint).
func ParamMap(m Module) (map[string]*autograd.Var, error) {
	ps := m.Params()
	out := make(map[string]*autograd.Var, len(ps))
	for i, p := range ps {
		if p.Name == "" {
			return nil, fmt.Errorf("gnn: parameter %d (shape %v) has no name", i, p.Shape())
		}
		if _, dup := out[p.Name]; dup {
			return nil, fmt.Errorf("gnn: duplicate parameter name %q", p.Name)
		}
		out[p.Name] = p
	}
	return out, nil
}

// NumParams is the total number of scalar parameters of m.
func NumParams(m Module) int {
	n := 0
	for _, p := range m.Params() {
		n += p.Value.Len()
	}
	return n
}
