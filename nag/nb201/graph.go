package nb201

import (
	"fmt"

	"github.com/nagml/nag/tensor"
)

// Adj is an 8x8 0/1 matrix over the graph nodes; Adj[i][j] = 1 means an
// edge i→j.
type Adj [NumNodes][NumNodes]float32

// Topology chooses the fixed adjacency of the 8 graph nodes.
type Topology int

const (
	// TopologyReference is the reference code's get_adj():
	// 0→1,2,3  1→4,5  2→6  3→7  4→6  5→7  6→7. It is the true cell only for
	// nodes ordered by source node, so compared with the string-order rows of
	// X it swaps nodes 3 and 4 (reference §1.2). Official checkpoints were
	// trained with it.
	TopologyReference Topology = iota
	// TopologyTrue is the cell topology in string order:
	// 0→1,2,4  1→3,5  2→6  3→6  4→7  5→7  6→7.
	TopologyTrue
)

// String returns "reference" or "true".
func (t Topology) String() string {
	switch t {
	case TopologyReference:
		return "reference"
	case TopologyTrue:
		return "true"
	}
	return fmt.Sprintf("Topology(%d)", int(t))
}

// ParseTopology reads "reference" or "true".
func ParseTopology(s string) (Topology, error) {
	switch s {
	case "reference":
		return TopologyReference, nil
	case "true":
		return TopologyTrue, nil
	}
	return 0, fmt.Errorf("nb201: unknown topology %q (want reference or true)", s)
}

// MaskMode chooses how the attention mask is derived from the adjacency.
type MaskMode int

const (
	// MaskRaw uses the adjacency itself (what reference training does, since
	// its aug_mask_algo 'floyd' matches no branch).
	MaskRaw MaskMode = iota
	// MaskClosure uses the transitive closure (what reference transfer
	// sampling does, aug_mask default 'floyed').
	MaskClosure
)

// String returns "raw" or "closure".
func (m MaskMode) String() string {
	switch m {
	case MaskRaw:
		return "raw"
	case MaskClosure:
		return "closure"
	}
	return fmt.Sprintf("MaskMode(%d)", int(m))
}

// ParseMaskMode reads "raw" or "closure".
func ParseMaskMode(s string) (MaskMode, error) {
	switch s {
	case "raw":
		return MaskRaw, nil
	case "closure":
		return MaskClosure, nil
	}
	return 0, fmt.Errorf("nb201: unknown mask mode %q (want raw or closure)", s)
}

// GraphConfig selects the fixed graph structure given to the networks.
type GraphConfig struct {
	Topology Topology
	Mask     MaskMode
}

// DefaultGraphConfig returns the default: the reference topology (get_adj,
// with its node 3/4 swap) and the raw-adjacency mask. This is what the
// reference trains its score network and meta-predictor with, so checkpoints
// stay compatible with official ones. Reference transfer sampling uses
// Mask: MaskClosure instead (reference §1.2, §11.1).
func DefaultGraphConfig() GraphConfig {
	return GraphConfig{Topology: TopologyReference, Mask: MaskRaw}
}

// String returns e.g. "reference/raw".
func (c GraphConfig) String() string { return c.Topology.String() + "/" + c.Mask.String() }

var (
	refEdges  = [][2]int{{0, 1}, {0, 2}, {0, 3}, {1, 4}, {1, 5}, {2, 6}, {3, 7}, {4, 6}, {5, 7}, {6, 7}}
	trueEdges = [][2]int{{0, 1}, {0, 2}, {0, 4}, {1, 3}, {1, 5}, {2, 6}, {3, 6}, {4, 7}, {5, 7}, {6, 7}}
)

// Adjacency returns the fixed adjacency of the topology.
func (t Topology) Adjacency() Adj {
	edges := refEdges
	if t == TopologyTrue {
		edges = trueEdges
	}
	var a Adj
	for _, e := range edges {
		a[e[0]][e[1]] = 1
	}
	return a
}

// Adjacency returns the configured fixed adjacency.
func (c GraphConfig) Adjacency() Adj { return c.Topology.Adjacency() }

// AttentionMask returns the mask for the score network and predictor:
// the adjacency, or its transitive closure. mask[i][j] = 1 lets node i
// attend to node j.
func (c GraphConfig) AttentionMask() Adj {
	a := c.Adjacency()
	if c.Mask == MaskClosure {
		return a.Closure()
	}
	return a
}

// Closure returns the transitive closure (Floyd–Warshall on booleans): 1
// where a path of one or more edges leads from i to j.
func (a Adj) Closure() Adj {
	r := a
	for k := 0; k < NumNodes; k++ {
		for i := 0; i < NumNodes; i++ {
			if r[i][k] == 0 {
				continue
			}
			for j := 0; j < NumNodes; j++ {
				if r[k][j] != 0 {
					r[i][j] = 1
				}
			}
		}
	}
	return r
}

// Slice returns the matrix as a new row-major []float32 of length 64.
func (a *Adj) Slice() []float32 {
	out := make([]float32, 0, NumNodes*NumNodes)
	for i := range a {
		out = append(out, a[i][:]...)
	}
	return out
}

// Tensor returns the matrix as a new [8, 8] tensor.
func (a *Adj) Tensor() *tensor.Tensor { return tensor.FromSlice(a.Slice(), NumNodes, NumNodes) }
