package mbv3

import (
	"context"
	"github.com/nagml/nag/internal/shareddata"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/ofa"
	"github.com/nagml/nag/tensor"
)

// dataDir finds ../shared/data/ofa-mbv3 ($NAG_DATA/ofa-mbv3 first).
func dataDir(t testing.TB) string {
	t.Helper()
	if d := DefaultDir(); d != "" {
		return d
	}
	return filepath.Join(shareddata.Root(t), "ofa-mbv3")
}

var (
	tableOnce sync.Once
	tableVal  *Table
	tableErr  error
)

func loadTable(t testing.TB) *Table {
	t.Helper()
	path := filepath.Join(dataDir(t), TableFile)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("OFA table not available: %v", err)
	}
	tableOnce.Do(func() { tableVal, tableErr = LoadTable(path) })
	if tableErr != nil {
		t.Fatal(tableErr)
	}
	return tableVal
}

func loadPredictor(t testing.TB) *AccPredictor {
	t.Helper()
	path := filepath.Join(dataDir(t), PredictorFile)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("OFA predictor not available: %v", err)
	}
	p, err := LoadAccPredictor(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTableCounts(t *testing.T) {
	tb := loadTable(t)
	if len(tb.Rows) != 7650 {
		t.Fatalf("rows %d, want 7650", len(tb.Rows))
	}
	var lat, moofa, pred int
	for i := range tb.Rows {
		r := &tb.Rows[i]
		if r.ID != i {
			t.Fatalf("row %d has id %d", i, r.ID)
		}
		if _, ok, _ := r.Latency("v100_b64"); ok {
			lat++
		}
		if r.MoofaTop1PctW10 != nil {
			moofa++
		}
		if r.OFAPredTop1W12 != nil {
			pred++
		}
	}
	if lat != 5000 || moofa != 2610 || pred != 2708 {
		t.Fatalf("non-null counts: latency %d moofa %d predictor %d, want 5000 2610 2708", lat, moofa, pred)
	}
	r, _ := tb.ByID(0)
	if v, ok, err := r.Latency("2080ti_b1"); err != nil || !ok || v != 12.081937789916992 || r.R != 204 {
		t.Fatalf("id 0: r %d latency %v %v %v", r.R, v, ok, err)
	}
	if _, _, err := r.Latency("gtx_480"); err == nil {
		t.Fatal("unknown latency device accepted")
	}
}

func TestReadTableErrors(t *testing.T) {
	good := `{"id":0,"ks":[3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0],"e":[3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0],"d":[2,2,2,2,2],"r":224,"arch_str":"2-3-3_2-3-3_0-0-0_0-0-0_2-3-3_2-3-3_0-0-0_0-0-0_2-3-3_2-3-3_0-0-0_0-0-0_2-3-3_2-3-3_0-0-0_0-0-0_2-3-3_2-3-3_0-0-0_0-0-0"}`
	if tb, err := ReadTable(strings.NewReader(good+"\n"), "good"); err != nil || len(tb.Rows) != 1 {
		t.Fatalf("good table: %v", err)
	}
	cases := []struct{ name, text, want string }{
		{"empty", "", "no rows"},
		{"json", "{not json}\n", "line 1"},
		{"depth", strings.Replace(good, `"d":[2,2,2,2,2]`, `"d":[1,2,2,2,2]`, 1), "depth 1"},
		{"kernel", strings.Replace(good, `"ks":[3,`, `"ks":[4,`, 1), "kernel 4"},
		{"string", strings.Replace(good, `"arch_str":"2-3-3_`, `"arch_str":"2-5-3_`, 1), "does not match"},
		{"resolution", strings.Replace(good, `"r":224`, `"r":0`, 1), "resolution 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadTable(strings.NewReader(c.text), c.name)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// The two reference outputs of the data README.
func TestAccPredictorReference(t *testing.T) {
	p := loadPredictor(t)
	tb := loadTable(t)
	for _, c := range []struct {
		id   int
		r    int
		want float64
	}{{5002, 176, 0.8045334219932556}, {51, 224, 0.8236082196235657}} {
		row, ok := tb.ByID(c.id)
		if !ok || row.R != c.r {
			t.Fatalf("id %d missing or wrong resolution", c.id)
		}
		y, err := p.Predict([]ofa.Arch{row.Arch}, row.R)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(y[0]-c.want) > 1e-5 {
			t.Errorf("id %d: predicted %.10f, want %.10f", c.id, y[0], c.want)
		}
	}
}

// Every table row with a predictor value (2,708 rows, 4 decimals in %).
func TestAccPredictorTable(t *testing.T) {
	p := loadPredictor(t)
	tb := loadTable(t)
	byR := map[int][]*Row{}
	for _, r := range tb.Filter(func(r *Row) bool { return r.OFAPredTop1W12 != nil }) {
		byR[r.R] = append(byR[r.R], r)
	}
	n := 0
	worst := 0.0
	for res, rows := range byR {
		archs := make([]ofa.Arch, len(rows))
		for i, r := range rows {
			archs[i] = r.Arch
		}
		y, err := p.Predict(archs, res)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rows {
			d := math.Abs(100*y[i] - *r.OFAPredTop1W12)
			worst = math.Max(worst, d)
			if d > 1e-3 {
				t.Fatalf("id %d r %d: predicted %.5f%%, table %.4f%%", r.ID, res, 100*y[i], *r.OFAPredTop1W12)
			}
			n++
		}
	}
	if n != 2708 {
		t.Fatalf("checked %d rows, want 2708", n)
	}
	t.Logf("2708 rows, worst |diff| %.2e %%", worst)
}

func TestEncode(t *testing.T) {
	a, err := ofa.Parse("2-5-3_2-3-3_0-0-0_0-0-0_3-3-6_3-3-6_3-3-4_0-0-0_3-7-4_3-7-4_3-5-3_0-0-0_3-5-6_3-5-4_3-3-4_0-0-0_3-3-6_3-3-6_3-3-4_0-0-0")
	if err != nil {
		t.Fatal(err)
	}
	x, err := Encode(a, 176)
	if err != nil {
		t.Fatal(err)
	}
	var ones []int
	for i, v := range x {
		if v == 1 {
			ones = append(ones, i)
		} else if v != 0 {
			t.Fatalf("x[%d] = %g", i, v)
		}
	}
	// 14 active layers (depths 2,3,3,3,3) x 2 bits + 1 resolution bit.
	if len(ones) != 29 {
		t.Fatalf("%d ones, want 29", len(ones))
	}
	// Slot 0 is kernel 5 (index 1), expand 3 (index 0); r 176 -> slot 4.
	if x[1] != 1 || x[60] != 1 || x[124] != 1 || x[2*3] != 0 {
		t.Fatalf("unexpected bits %v", ones)
	}
	for _, r := range []int{128, 144, 200, 240} {
		if _, err := Encode(a, r); err == nil {
			t.Errorf("resolution %d accepted", r)
		}
	}
	bad := a
	bad.KS[0] = 4
	if _, err := Encode(bad, 224); err == nil {
		t.Error("invalid arch accepted")
	}
}

// The folded x-space form equals the 128-d form on clean architectures,
// and its input gradient matches finite differences.
func TestXRegressor(t *testing.T) {
	p := loadPredictor(t)
	rng := tensor.NewRNG(7)
	archs := make([]ofa.Arch, 64)
	for i := range archs {
		archs[i] = ofa.RandomUniform(rng)
	}
	for _, r := range []int{160, 224} {
		want, err := p.Predict(archs, r)
		if err != nil {
			t.Fatal(err)
		}
		xr, err := p.XRegressor(r)
		if err != nil {
			t.Fatal(err)
		}
		x := ofa.OneHotBatch(archs)
		xs := tensor.AddScalar(tensor.Scale(x, 2), -1)
		got := xr.Predict(gnn.Ctx{}, autograd.Const(xs), nil).Value.Data()
		for i := range archs {
			if d := math.Abs(float64(got[i]) - 100*want[i]); d > 2e-3 {
				t.Fatalf("r %d arch %d: x-space %.5f, encoding %.5f", r, i, got[i], 100*want[i])
			}
		}
	}
	if _, err := p.XRegressor(128); err == nil {
		t.Fatal("resolution 128 accepted")
	}
	// Gradient check on a noisy input (float64 finite differences of the
	// float32 network, so a loose tolerance).
	xr, _ := p.XRegressor(224)
	x0 := ofa.OneHotBatch(archs[:2])
	xs := tensor.AddScalar(tensor.Scale(x0, 2), -1)
	noise := tensor.Zeros(xs.Shape()...)
	rng.FillNormal(noise.Data(), 0, 0.3)
	xs = tensor.Add(xs, noise)
	tp := autograd.NewTape()
	xv := autograd.NewVar(xs.Clone(), true)
	g, err := tp.Grad(tp.SumAll(xr.Predict(gnn.Ctx{Tape: tp}, xv, nil)), xv)
	if err != nil {
		t.Fatal(err)
	}
	f := func(v *tensor.Tensor) float64 {
		y := xr.Predict(gnn.Ctx{}, autograd.Const(v), nil).Value.Data()
		return float64(y[0]) + float64(y[1])
	}
	gd := g[0].Contiguous().Data()
	for _, k := range []int{0, 5, 40, 100, 179, 200, 359} {
		const h = 1e-2
		xp, xm := xs.Clone(), xs.Clone()
		xp.Data()[k] += h
		xm.Data()[k] -= h
		fd := (f(xp) - f(xm)) / (2 * h)
		if math.Abs(fd-float64(gd[k])) > 2e-2*math.Max(1, math.Abs(fd)) {
			t.Errorf("grad[%d] = %g, finite difference %g", k, gd[k], fd)
		}
	}
}

func TestOracle(t *testing.T) {
	p := loadPredictor(t)
	tb := loadTable(t)
	o := NewOracle(p)
	if !strings.Contains(o.Name(), "surrogate") || !strings.Contains(o.Note(), "SURROGATE") {
		t.Fatalf("oracle must say it is a surrogate: %q / %q", o.Name(), o.Note())
	}
	row, _ := tb.ByID(51) // r = 224 reference output
	res, err := o.Evaluate(context.Background(), []string{row.ArchStr, "not-an-arch"})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].OK || math.Abs(res[0].Acc-82.36082196235657) > 1e-3 {
		t.Fatalf("oracle on id 51: %+v", res[0])
	}
	if res[1].OK || res[1].Err == "" {
		t.Fatalf("bad string scored: %+v", res[1])
	}
	if o.Calls() != 2 {
		t.Fatalf("calls %d", o.Calls())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := o.Evaluate(ctx, []string{row.ArchStr}); err == nil {
		t.Fatal("cancelled context accepted")
	}
}
