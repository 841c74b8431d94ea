package bo

import (
	"testing"

	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/tensor"
)

func diffEdges(a, b nb201.Arch) int {
	n := 0
	for e := range a {
		if a[e] != b[e] {
			n++
		}
	}
	return n
}

func TestMutateProducesValidDistinctArchs(t *testing.T) {
	rng := tensor.NewRNG(7)
	parent := nb201.MustParse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
	counts := map[int]int{}
	for i := 0; i < 2000; i++ {
		c := Mutate(parent, rng)
		d := diffEdges(parent, c)
		if d == 0 {
			t.Fatalf("mutation %d equals its parent", i)
		}
		for e, o := range c {
			if o >= nb201.NumOps {
				t.Fatalf("mutation %d: edge %d has op %d", i, e, o)
			}
		}
		if _, err := nb201.Parse(c.String()); err != nil {
			t.Fatalf("mutation %d: %v", i, err)
		}
		counts[d]++
	}
	// Most mutations change one edge (P(no edge drawn) + P(exactly one) ≈ 0.74).
	if counts[1] < 1200 || counts[1] > 1800 {
		t.Errorf("one-edge mutations: %d of 2000, want about 1470", counts[1])
	}
}

func TestNeighbours(t *testing.T) {
	a := nb201.MustParse("|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|")
	nb := Neighbours(a)
	if len(nb) != 24 {
		t.Fatalf("%d neighbours, want 24", len(nb))
	}
	seen := map[nb201.Arch]bool{}
	for _, b := range nb {
		if diffEdges(a, b) != 1 {
			t.Errorf("neighbour %s differs in %d edges", b, diffEdges(a, b))
		}
		if seen[b] {
			t.Errorf("duplicate neighbour %s", b)
		}
		seen[b] = true
	}
}

func TestPathEncoding(t *testing.T) {
	// Edges: e0 0→1 conv3 (op 3), e1 0→2 skip (1), e2 1→2 none, e3 0→3 pool (4),
	// e4 1→3 conv1 (2), e5 2→3 conv3 (3).
	a := nb201.Arch{nb201.Conv3x3, nb201.Skip, nb201.None, nb201.AvgPool, nb201.Conv1x1, nb201.Conv3x3}
	v := PathEncoding(a)
	want := map[int]bool{
		0 + (4 - 1):           true, // 0→3: pool
		4 + (3-1)*4 + (2 - 1): true, // 0→1→3: conv3, conv1
		4 + (1-1)*4 + (3 - 1): true, // 0→2→3: skip, conv3
		// 0→1→2→3 goes through the none edge: absent.
	}
	for i, x := range v {
		if (x == 1) != want[i] || (x != 0 && x != 1) {
			t.Errorf("path encoding[%d] = %g, want %v", i, x, want[i])
		}
	}
	full := nb201.Arch{nb201.Skip, nb201.Skip, nb201.Conv1x1, nb201.Skip, nb201.Skip, nb201.AvgPool}
	v = PathEncoding(full)
	if got := v[20+(1-1)*16+(2-1)*4+(4-1)]; got != 1 {
		t.Errorf("3-edge path skip,conv1,pool not encoded")
	}
	var ones int
	for _, x := range v {
		if x == 1 {
			ones++
		}
	}
	if ones != 4 {
		t.Errorf("%d paths encoded, want 4", ones)
	}
}
