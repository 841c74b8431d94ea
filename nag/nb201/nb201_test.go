package nb201

import (
	"errors"
	"strings"
	"testing"

	"github.com/nagml/nag/tensor"
)

const (
	row0Str = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
	metaStr = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
)

func TestParseRoundTrip(t *testing.T) {
	cases := []struct {
		s    string
		code string
		key  int
	}{
		{row0Str, "421211", 4*3125 + 2*625 + 1*125 + 2*25 + 1*5 + 1},
		{metaStr, "333133", 3*3125 + 3*625 + 3*125 + 1*25 + 3*5 + 3},
		{"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "000000", 0},
	}
	for _, c := range cases {
		a, err := Parse(c.s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.s, err)
		}
		if got := a.String(); got != c.s {
			t.Errorf("String() = %q, want %q", got, c.s)
		}
		if got := a.Code(); got != c.code {
			t.Errorf("%s: Code() = %q, want %q", c.s, got, c.code)
		}
		if got := a.Key(); got != c.key {
			t.Errorf("%s: Key() = %d, want %d", c.s, got, c.key)
		}
		b, err := ParseCode(c.code)
		if err != nil || b != a {
			t.Errorf("ParseCode(%q) = %v, %v", c.code, b, err)
		}
		k, err := FromKey(c.key)
		if err != nil || k != a {
			t.Errorf("FromKey(%d) = %v, %v", c.key, k, err)
		}
	}
	// Every cell round-trips through string, code and key.
	for k, a := range All() {
		if a.Key() != k {
			t.Fatalf("All()[%d].Key() = %d", k, a.Key())
		}
		p, err := Parse(a.String())
		if err != nil || p != a {
			t.Fatalf("round trip %s: %v %v", a, p, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		s      string
		offset int
		edge   int // -1: outside an edge
		msg    string
	}{
		{"", 0, 0, "unexpected end"},
		{"|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", 1, 0, `unknown operation "conv"`},
		{"|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", 22, 2, `input node index "2", want 1`},
		{"|none~0|+|none~0|none~1|+|none~0|none~1|", 40, 5, "missing operation name"},
		{"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|x", 47, -1, `trailing characters "x"`},
		{"|none~0||none~0|none~1|+|none~0|none~1|none~2|", 8, -1, `unexpected '|', want '+'`},
		{"|none~|+|none~0|none~1|+|none~0|none~1|none~2|", 6, 0, "missing input node index"},
		{"|none0|+|none~0|none~1|+|none~0|none~1|none~2|", 1, 0, `unknown operation "none0"`},
		{"|none~0 |+|none~0|none~1|+|none~0|none~1|none~2|", 7, 0, `unexpected ' ', want '|'`},
		{"|none~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~3|", 69, 5, `input node index "3", want 2`},
	}
	for _, c := range cases {
		_, err := Parse(c.s)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) err = %v, want *ParseError", c.s, err)
			continue
		}
		if pe.Offset != c.offset || pe.Edge != c.edge || !strings.Contains(pe.Msg, c.msg) {
			t.Errorf("Parse(%q): offset %d edge %d msg %q; want %d %d %q", c.s, pe.Offset, pe.Edge, pe.Msg, c.offset, c.edge, c.msg)
		}
		if !strings.Contains(err.Error(), "offset") {
			t.Errorf("error text lacks the position: %v", err)
		}
	}
	for _, s := range []string{"42121", "4212111", "42121a", "521211"} {
		if _, err := ParseCode(s); err == nil {
			t.Errorf("ParseCode(%q) should fail", s)
		}
	}
	if _, err := FromKey(NumArchs); err == nil {
		t.Error("FromKey(15625) should fail")
	}
}

func TestOneHot(t *testing.T) {
	a := MustParse(metaStr)
	x := a.OneHot()
	// Reference: argmax types [0,5,5,5,3,5,5,1] for the first meta-training entry.
	want := []int{0, 5, 5, 5, 3, 5, 5, 1}
	for i, w := range want {
		for j := 0; j < NumTypes; j++ {
			exp := float32(0)
			if j == w {
				exp = 1
			}
			if x[i][j] != exp {
				t.Fatalf("x[%d][%d] = %v, want %v", i, j, x[i][j], exp)
			}
		}
	}
	tt := x.Tensor()
	if s := tt.Shape(); len(s) != 2 || s[0] != 8 || s[1] != 7 || tt.At(4, 3) != 1 || tt.At(4, 5) != 0 {
		t.Errorf("Tensor() wrong: shape %v", s)
	}
	b := OneHotBatch([]Arch{a, MustParse(row0Str)})
	if s := b.Shape(); s[0] != 2 || s[1] != 8 || s[2] != 7 {
		t.Fatalf("batch shape %v", s)
	}
	if b.At(1, 1, TypeAvgPool) != 1 || b.At(1, 2, TypeConv1x1) != 1 || b.At(0, 1, TypeConv3x3) != 1 {
		t.Error("batch contents wrong")
	}
	for _, a := range All() {
		x := a.OneHot()
		got, err := x.Arch()
		if err != nil || got != a {
			t.Fatalf("decode(onehot(%s)) = %s, %v", a, got, err)
		}
	}
}

func adjEdges(a Adj) [][2]int {
	var out [][2]int
	for i := range a {
		for j := range a[i] {
			if a[i][j] == 1 {
				out = append(out, [2]int{i, j})
			} else if a[i][j] != 0 {
				panic("non-binary")
			}
		}
	}
	return out
}

func TestAdjacency(t *testing.T) {
	ref := [][2]int{{0, 1}, {0, 2}, {0, 3}, {1, 4}, {1, 5}, {2, 6}, {3, 7}, {4, 6}, {5, 7}, {6, 7}}
	tru := [][2]int{{0, 1}, {0, 2}, {0, 4}, {1, 3}, {1, 5}, {2, 6}, {3, 6}, {4, 7}, {5, 7}, {6, 7}}
	// Closure rows from reference §1.2.
	closure := [][]int{{1, 2, 3, 4, 5, 6, 7}, {4, 5, 6, 7}, {6, 7}, {7}, {6, 7}, {7}, {7}, {}}
	var refClosure [][2]int
	for i, r := range closure {
		for _, j := range r {
			refClosure = append(refClosure, [2]int{i, j})
		}
	}
	eq := func(a, b [][2]int) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	def := DefaultGraphConfig()
	if def.Topology != TopologyReference || def.Mask != MaskRaw || def.String() != "reference/raw" {
		t.Errorf("default config = %v", def)
	}
	cases := []struct {
		cfg  GraphConfig
		adj  [][2]int
		mask [][2]int
	}{
		{def, ref, ref},
		{GraphConfig{TopologyReference, MaskClosure}, ref, refClosure},
		{GraphConfig{TopologyTrue, MaskRaw}, tru, tru},
	}
	for _, c := range cases {
		if got := adjEdges(c.cfg.Adjacency()); !eq(got, c.adj) {
			t.Errorf("%v adjacency %v, want %v", c.cfg, got, c.adj)
		}
		if got := adjEdges(c.cfg.AttentionMask()); !eq(got, c.mask) {
			t.Errorf("%v mask %v, want %v", c.cfg, got, c.mask)
		}
	}
	// The true topology matches the string's edge list: op node k (1..6) is
	// edge k-1; op nodes feed the op nodes leaving their target cell node.
	want := Adj{}
	for e := 0; e < NumEdges; e++ {
		from, to := EdgeNodes(e)
		if from == 0 {
			want[0][e+1] = 1
		}
		if to == 3 {
			want[e+1][7] = 1
		}
		for f := 0; f < NumEdges; f++ {
			if g, _ := EdgeNodes(f); g == to {
				want[e+1][f+1] = 1
			}
		}
	}
	if TopologyTrue.Adjacency() != want {
		t.Errorf("true topology %v, derived from edges %v", adjEdges(TopologyTrue.Adjacency()), adjEdges(want))
	}
	// get_adj is the true topology with nodes 3 and 4 swapped.
	perm := [8]int{0, 1, 2, 4, 3, 5, 6, 7}
	var swapped Adj
	for i := range want {
		for j := range want[i] {
			swapped[perm[i]][perm[j]] = want[i][j]
		}
	}
	if swapped != TopologyReference.Adjacency() {
		t.Error("reference adjacency is not the true one with nodes 3/4 swapped")
	}
	m := def.AttentionMask()
	if m.Tensor().At(1, 4) != 1 || m.Tensor().At(7, 0) != 0 {
		t.Error("mask tensor wrong")
	}
	for _, s := range []string{"reference", "true"} {
		if tp, err := ParseTopology(s); err != nil || tp.String() != s {
			t.Errorf("ParseTopology(%s) = %v, %v", s, tp, err)
		}
	}
	for _, s := range []string{"raw", "closure"} {
		if mm, err := ParseMaskMode(s); err != nil || mm.String() != s {
			t.Errorf("ParseMaskMode(%s) = %v, %v", s, mm, err)
		}
	}
	if _, err := ParseMaskMode("floyd"); err == nil {
		t.Error("ParseMaskMode(floyd) should fail")
	}
}

func TestValidate(t *testing.T) {
	a := MustParse(row0Str)
	base := a.OneHot()
	cases := []struct {
		name string
		mod  func(x *X)
		kind InvalidKind
		row  int
	}{
		{"valid", func(x *X) {}, 0, 0},
		{"two types", func(x *X) { x[3][TypeConv3x3] = 1 }, MultipleNodeTypes, 3},
		{"zero row", func(x *X) { x[5] = [NumTypes]float32{} }, MultipleNodeTypes, 5},
		{"no input", func(x *X) { x[0] = [NumTypes]float32{0, 0, 0, 1, 0, 0, 0} }, NoStartEnd, 0},
		{"no output", func(x *X) { x[7] = [NumTypes]float32{1, 0, 0, 0, 0, 0, 0} }, NoStartEnd, 7},
		{"input inside", func(x *X) { x[2] = [NumTypes]float32{1, 0, 0, 0, 0, 0, 0} }, IntermStartEnd, 2},
		{"output inside", func(x *X) { x[6] = [NumTypes]float32{0, 1, 0, 0, 0, 0, 0} }, IntermStartEnd, 6},
		{"not binary", func(x *X) { x[4][TypeSkip] = 0.7 }, NotBinary, 4},
		// Rule order: a multi-type row is reported before a wrong input row.
		{"rule order", func(x *X) { x[0] = [NumTypes]float32{0, 0, 1}; x[6][TypeNone] = 1 }, MultipleNodeTypes, 6},
	}
	for _, c := range cases {
		x := base
		c.mod(&x)
		err := x.Validate()
		if c.kind == 0 {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var ie *InvalidError
		if !errors.As(err, &ie) || ie.Kind != c.kind || ie.Row != c.row {
			t.Errorf("%s: err %v, want %s at row %d", c.name, err, c.kind, c.row)
		}
		if _, err := x.Arch(); err == nil {
			t.Errorf("%s: Arch() accepted an invalid matrix", c.name)
		}
	}
}

func TestDecode(t *testing.T) {
	a := MustParse(row0Str)
	oh := a.OneHot()
	// A noisy sample near the one-hot matrix, in [0,1] space.
	rng := tensor.NewRNG(1)
	var x X
	for i := range x {
		for j := range x[i] {
			x[i][j] = oh[i][j]*0.6 + 0.2 + 0.25*(rng.Float32()-0.5)
		}
	}
	for _, d := range []Decoder{DecodeThreshold, DecodeArgmax} {
		got, err := Decode(x, d)
		if err != nil || got != a {
			t.Errorf("%s: Decode = %s, %v; want %s", d, got, err, a)
		}
	}
	// Exactly 0.5 counts as 1 for threshold (x >= 0.5).
	y := x
	y[3][TypeSkip] = 0.9 // row 3 = edge 2 = skip_connect
	y[3][TypeNone] = 0.5
	if _, err := Decode(y, DecodeThreshold); err == nil {
		t.Error("threshold: 0.5 must set the element (two types in row 3)")
	}
	// Argmax resolves that row to its largest element instead.
	y[3][TypeNone] = 0.89
	if got, err := Decode(y, DecodeArgmax); err != nil || got != a {
		t.Errorf("argmax: %s, %v", got, err)
	}
	y[3][TypeNone] = 0.91
	want := a
	want[2] = None
	if got, err := Decode(y, DecodeArgmax); err != nil || got != want {
		t.Errorf("argmax: %s, %v; want %s", got, err, want)
	}
	// A row below threshold everywhere is invalid for threshold, fine for argmax.
	z := x
	for j := range z[2] {
		z[2][j] *= 0.3
	}
	if _, err := Decode(z, DecodeThreshold); err == nil {
		t.Error("threshold should reject an all-low row")
	}
	if got, err := Decode(z, DecodeArgmax); err != nil || got != a {
		t.Errorf("argmax all-low row: %s, %v", got, err)
	}
	// Argmax of an op row landing on "output" is invalid.
	z[2][TypeOutput] = 2
	var ie *InvalidError
	if _, err := Decode(z, DecodeArgmax); !errors.As(err, &ie) || ie.Kind != IntermStartEnd || ie.Row != 2 {
		t.Errorf("argmax output row: %v", err)
	}
	// Batch decoding.
	xs := append(x.Slice(), z.Slice()...)
	archs, errs, err := DecodeBatch(tensor.FromSlice(xs, 2, 8, 7), DecodeThreshold)
	if err != nil || archs[0] != a || errs[0] != nil || errs[1] == nil {
		t.Errorf("DecodeBatch: %v %v %v", archs, errs, err)
	}
	if _, _, err := DecodeBatch(tensor.FromSlice(xs, 2, 56), DecodeThreshold); err == nil {
		t.Error("DecodeBatch should reject a [2,56] tensor")
	}
	if _, err := XFromSlice(make([]float32, 55)); err == nil {
		t.Error("XFromSlice(55 values) should fail")
	}
	if d, err := ParseDecoder("argmax"); err != nil || d != DecodeArgmax {
		t.Errorf("ParseDecoder: %v %v", d, err)
	}
	if _, err := ParseDecoder("round"); err == nil {
		t.Error("ParseDecoder(round) should fail")
	}
}

func TestCanonical(t *testing.T) {
	iso := func(a, b string) bool { return MustParse(a).Canonical() == MustParse(b).Canonical() }
	cases := []struct {
		a, b string
		same bool
	}{
		// Swapping the two parallel paths into node 3 is an isomorphism.
		{"|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|avg_pool_3x3~1|skip_connect~2|",
			"|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|avg_pool_3x3~2|", false},
		{"|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|skip_connect~1|none~2|",
			"|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|skip_connect~1|none~2|", true},
		// Node 2 unused (edge 2->3 is none): edges into node 2 do not matter.
		{"|skip_connect~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|nor_conv_1x1~0|skip_connect~1|none~2|",
			"|skip_connect~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_1x1~0|skip_connect~1|none~2|", true},
		// Different op on a used edge.
		{row0Str, "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|skip_connect~1|skip_connect~2|", false},
	}
	for _, c := range cases {
		if got := iso(c.a, c.b); got != c.same {
			t.Errorf("iso(%s, %s) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
	classes := map[string]bool{}
	for _, a := range All() {
		classes[a.Canonical()] = true
	}
	if len(classes) != 6466 {
		t.Errorf("%d classes over the space, want 6466", len(classes))
	}
	reps := IsoClasses([]Arch{MustParse(cases[2].a), MustParse(row0Str), MustParse(cases[2].b)})
	if reps[0] != 0 || reps[1] != 1 || reps[2] != 0 {
		t.Errorf("IsoClasses = %v", reps)
	}
}

func TestCost(t *testing.T) {
	// NB201 cost_info of index 0 (data README): params 0.129306 M, FLOPs 15.64737 M.
	a := MustParse(row0Str)
	if p := a.Params(CIFAR10); p != 129306 {
		t.Errorf("params = %d", p)
	}
	if f := a.FLOPs(CIFAR10); f != 15647370 {
		t.Errorf("flops = %d", f)
	}
	// CIFAR-10 FLOPs range 7.78305 – 220.11969 M.
	lo, _ := ParseCode("000000")
	hi, _ := ParseCode("333333")
	if lo.FLOPs(CIFAR10) != 7783050 || hi.FLOPs(CIFAR10) != 220119690 {
		t.Errorf("flops range %d..%d", lo.FLOPs(CIFAR10), hi.FLOPs(CIFAR10))
	}
	if d, err := DatasetByName("in16"); err != nil || d != ImageNet16 {
		t.Errorf("DatasetByName: %v %v", d, err)
	}
	if _, err := DatasetByName("imagenet"); err == nil {
		t.Error("DatasetByName(imagenet) should fail")
	}
}

func TestRandom(t *testing.T) {
	rng := tensor.NewRNG(7)
	const n = 50000
	var counts [NumEdges][NumOps]int
	seen := map[Arch]bool{}
	for _, a := range RandomN(rng, n) {
		seen[a] = true
		for e, o := range a {
			counts[e][o]++
		}
	}
	// Each op on each edge ~ n/5 = 10000, sd ~ 89: allow 5 sd.
	for e := range counts {
		for o, c := range counts[e] {
			if c < 9550 || c > 10450 {
				t.Errorf("edge %d op %d drawn %d times of %d", e, o, c, n)
			}
		}
	}
	// 50000 draws from 15625 cover ~95.9% of the space.
	if len(seen) < 14800 || len(seen) > 15200 {
		t.Errorf("%d distinct cells in %d draws", len(seen), n)
	}
	r1, r2 := Random(tensor.NewRNG(3)), Random(tensor.NewRNG(3))
	if r1 != r2 {
		t.Error("same seed, different draws")
	}
}
