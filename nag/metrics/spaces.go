package metrics

import (
	"fmt"

	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/nag/ofa"
)

// NB201 is the Space of NB201 cell strings; the isomorphism key is
// nb201.Arch.Canonical.
type NB201 struct{}

// Name returns "nb201".
func (NB201) Name() string { return "nb201" }

// Canon parses an NB201 cell string.
func (NB201) Canon(arch string) (string, string, error) {
	a, err := nb201.Parse(arch)
	if err != nil {
		return "", "", err
	}
	return a.String(), a.Canonical(), nil
}

// NB201Bench scores NB201 architectures with one column of the benchmark
// table.
type NB201Bench struct {
	table *bench201.Table
	col   []float64
}

// NewNB201Bench selects column metric of t (e.g. "c10_test").
func NewNB201Bench(t *bench201.Table, metric string) (*NB201Bench, error) {
	col, err := t.Column(metric)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &NB201Bench{table: t, col: col}, nil
}

// Lookup implements Bench.
func (b *NB201Bench) Lookup(key string) (float64, int, bool) {
	a, err := nb201.Parse(key)
	if err != nil {
		return 0, -1, false
	}
	i := b.table.Index(a)
	if i < 0 {
		return 0, -1, false
	}
	return b.col[i], i, true
}

// MBV3 is the Space of OFA MobileNetV3 strings ("d-ks-e" tokens). The
// space is a fixed chain, so a sub-network's isomorphism class is the
// sub-network itself: the iso key equals the canonical string.
type MBV3 struct{}

// Name returns "mbv3".
func (MBV3) Name() string { return "mbv3" }

// Canon parses an OFA MobileNetV3 string.
func (MBV3) Canon(arch string) (string, string, error) {
	a, err := ofa.Parse(arch)
	if err != nil {
		return "", "", err
	}
	s := a.String()
	return s, s, nil
}
