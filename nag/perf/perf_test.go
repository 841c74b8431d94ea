package perf

import (
	"math"
	"testing"

	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/tensor"
)

func TestCATEForwardFLOPsPaper(t *testing.T) {
	// Hand count for the paper configuration on 256 NB201 graphs (2048 node rows):
	// embedding 2·2048·7·64, time MLP 2·256·(64·256·2), 12 layers of
	// 2·2048·(4·64² + 2·64·128) + attention 2·2·256·8·8·64, readout
	// 2·2048·(768·1536 + 1536·1536 + 1536·7).
	want := 2*2048*7*64.0 + 2*256*(64*256*2.0) +
		12*(2*2048*(4*64*64.0+2*64*128)+2*2*256*8*8*64.0) +
		2*2048*(768*1536.0+1536*1536+1536*7)
	got := CATEForwardFLOPs(gnn.PaperCATEConfig(8, 7), 256)
	if math.Abs(got-want) > 1 {
		t.Fatalf("FLOPs = %.0f, want %.0f", got, want)
	}
	// The readout MLP is about 57 MFLOP per architecture (reference §2).
	if per := (got / 256) / 1e6; per < 60 || per > 66 {
		t.Fatalf("per-architecture forward = %.1f MFLOP, want about 63", per)
	}
}

func TestRunSmall(t *testing.T) {
	r, err := Run(Options{Config: "small", Batch: 4, Reps: 1})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]float64{"forward": r.ForwardS, "train": r.TrainStepS, "pc": r.PCStepS,
		"guided": r.GuidedPCStepS, "predictor": r.PredictorTrainStepS} {
		if !(v > 0) {
			t.Fatalf("%s time %g, want > 0", name, v)
		}
	}
	net, _ := gnn.NewCATE(gnn.SmallCATEConfig(8, 7), tensor.NewRNG(0))
	if net != nil && r.ScoreParams != gnn.NumParams(net) {
		t.Fatalf("score params = %d, want %d", r.ScoreParams, gnn.NumParams(net))
	}
	if _, err := Run(Options{Config: "huge"}); err == nil {
		t.Fatal("unknown config accepted")
	}
	if _, err := Run(Options{Config: "small", Batch: 2, Only: []string{"forward", "nope"}}); err == nil {
		t.Fatal("unknown workload accepted")
	}
	r, err = Run(Options{Config: "small", Batch: 2, Reps: 1, Only: []string{"train"}})
	if err != nil {
		t.Fatal(err)
	}
	if !(r.TrainStepS > 0) || r.ForwardS != 0 || r.PCStepS != 0 || r.ForwardGFLOPS != 0 {
		t.Fatalf("only train: train %g, forward %g, pc %g, forward GFLOP/s %g", r.TrainStepS, r.ForwardS, r.PCStepS, r.ForwardGFLOPS)
	}
}
