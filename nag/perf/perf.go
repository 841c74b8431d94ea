// Package perf measures the engine on the workloads that matter for
// DiffusionNAG (the paper configuration at batch 256): score-network
// forward, training step, predictor-corrector sampling step, guided
// sampling step and meta-predictor training step. `nag bench` prints the
// results; the numbers are comparable with scripts/bench_pytorch.py run on
// the same machine.
package perf

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"time"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/autograd/optim"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/internal/proccpu"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// Options selects what to measure.
type Options struct {
	Config string // score-network preset: "paper" or "small"
	Batch  int    // architectures per batch (256)
	Reps   int    // timed repetitions per workload (median reported)
	Warmup int    // untimed repetitions first
	Seed   uint64
	// Only, if non-empty, restricts the run to these workloads (names in
	// Workloads); the others report zero.
	Only []string
	// Log, if set, receives one line per finished workload.
	Log func(format string, a ...any)
}

// Workloads lists the workload names Options.Only accepts, in run order.
var Workloads = []string{"forward", "train", "pc", "guided", "predictor"}

// Result holds medians in seconds and derived throughput. JSON names match
// scripts/bench_pytorch.py.
type Result struct {
	Config              string  `json:"config"`
	Batch               int     `json:"batch"`
	Reps                int     `json:"reps"`
	Threads             int     `json:"threads"`
	Backend             string  `json:"backend"`
	ScoreParams         int     `json:"score_params"`
	PredictorParams     int     `json:"predictor_params"`
	ForwardS            float64 `json:"forward_s"`
	TrainStepS          float64 `json:"train_step_s"`
	PCStepS             float64 `json:"pc_step_s"`
	GuidedPCStepS       float64 `json:"guided_pc_step_s"`
	PredictorTrainStepS float64 `json:"predictor_train_step_s"`
	// CPU seconds (user + system, all threads of the process) per run,
	// median over the same repetitions: on a shared machine this is the
	// cost that does not depend on how many cores the run actually got.
	ForwardCPUS            float64 `json:"forward_cpu_s"`
	TrainStepCPUS          float64 `json:"train_step_cpu_s"`
	PCStepCPUS             float64 `json:"pc_step_cpu_s"`
	GuidedPCStepCPUS       float64 `json:"guided_pc_step_cpu_s"`
	PredictorTrainStepCPUS float64 `json:"predictor_train_step_cpu_s"`
	ForwardGFLOP           float64 `json:"forward_gflop"`
	ForwardGFLOPS          float64 `json:"forward_gflops"`
	TrainStepGFLOPS        float64 `json:"train_step_gflops"`
	PCStepGFLOPS           float64 `json:"pc_step_gflops"`
}

// CATEForwardFLOPs is the number of floating-point operations (2 per
// multiply-add) of one CATE forward pass on a batch of b graphs, counting
// the linear layers and attention products.
func CATEForwardFLOPs(c gnn.CATEConfig, b int) float64 {
	n, d := float64(c.Nodes), float64(c.DModel)
	rows := float64(b) * n
	f := 2 * rows * float64(c.Vocab) * d                                      // op embedding
	f += 2 * float64(b) * (d*float64(c.TimeHidden) + float64(c.TimeHidden)*d) // time MLP
	perLayer := 2*rows*(4*d*d+2*d*float64(c.DFF)) + 2*2*float64(b)*n*n*d
	f += float64(c.Layers) * perLayer
	in := float64(c.Layers) * d
	for _, h := range append(append([]int(nil), c.MLPHidden...), c.Vocab) {
		f += 2 * rows * in * float64(h)
		in = float64(h)
	}
	return f
}

// Run measures every workload.
func Run(opt Options) (*Result, error) {
	if opt.Batch <= 0 {
		opt.Batch = 256
	}
	if opt.Reps <= 0 {
		opt.Reps = 5
	}
	if opt.Warmup < 0 {
		opt.Warmup = 0
	}
	logf := opt.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	cfg, err := gnn.NamedCATEConfig(opt.Config, 8, 7)
	if err != nil {
		return nil, err
	}
	rng := tensor.NewRNG(opt.Seed)
	net, err := gnn.NewCATE(cfg, rng)
	if err != nil {
		return nil, err
	}
	pcfg := gnn.PaperPredictorConfig(8, 7, 512)
	pred, err := gnn.NewPredictor(pcfg, rng)
	if err != nil {
		return nil, err
	}
	b := opt.Batch
	res := &Result{Config: opt.Config, Batch: b, Reps: opt.Reps, Threads: runtime.GOMAXPROCS(0),
		Backend: tensor.Default().Name(), ScoreParams: gnn.NumParams(net), PredictorParams: gnn.NumParams(pred)}

	graph := nb201.DefaultGraphConfig()
	am, adj := graph.AttentionMask(), graph.Adjacency()
	mask := am.Tensor()
	fwd, bwd := gnn.NormalizedAdjacency(adj.Tensor())
	archs := nb201.RandomN(rng, b)
	x0 := sde.ScaleData(nb201.OneHotBatch(archs))
	ve := sde.DefaultVE()
	sigma := make([]float32, b)
	for i := range sigma {
		sigma[i] = float32(ve.Sigma(rng.Float64()))
	}
	xt := tensor.Add(x0, tensor.Scale(tensor.RandN(rng, b, 8, 7), 1))

	want := map[string]bool{}
	for _, w := range opt.Only {
		if !slices.Contains(Workloads, w) {
			return nil, fmt.Errorf("unknown workload %q (want one of %v)", w, Workloads)
		}
		want[w] = true
	}
	run := func(w string) bool { return len(want) == 0 || want[w] }
	// time1 runs f Warmup times untimed, then Reps times, and stores the
	// median wall and CPU seconds in *wall and *cpu.
	time1 := func(name string, wall, cpu *float64, f func() error) error {
		for i := 0; i < opt.Warmup; i++ {
			if err := f(); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		ts, cs := make([]float64, opt.Reps), make([]float64, opt.Reps)
		for i := range ts {
			runtime.GC()
			c0 := cpuSeconds()
			t0 := time.Now()
			if err := f(); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			ts[i] = time.Since(t0).Seconds()
			cs[i] = cpuSeconds() - c0
		}
		sort.Float64s(ts)
		sort.Float64s(cs)
		*wall, *cpu = ts[len(ts)/2], cs[len(cs)/2]
		logf("%-24s median %.4f s wall, %.4f s CPU over %d runs", name, *wall, *cpu, opt.Reps)
		return nil
	}

	// Forward, eval mode: the buffer-reusing scorer that sampling uses.
	scorer := net.NewScorer()
	if run("forward") {
		if err := time1("forward", &res.ForwardS, &res.ForwardCPUS, func() error {
			scorer.Score(xt, sigma, mask)
			return nil
		}); err != nil {
			return nil, err
		}
	}

	// Training step: DSM loss, backward, clip, Adam + EMA.
	ocfg := optim.DefaultConfig()
	ocfg.Warmup = 0
	ocfg.LR = 1e-4
	opz, err := optim.New(net.Params(), ocfg)
	if err != nil {
		return nil, err
	}
	trainRNG := rng.Split()
	scoreVar := func(tp *autograd.Tape, x *autograd.Var, cond []float32) *autograd.Var {
		return net.Forward(gnn.Ctx{Tape: tp, Train: true, RNG: trainRNG}, x, cond, mask)
	}
	if run("train") {
		if err := time1("train step", &res.TrainStepS, &res.TrainStepCPUS, func() error {
			tp := autograd.NewTape()
			loss, err := sde.DSMLoss(tp, ve, scoreVar, x0, trainRNG)
			if err != nil {
				return err
			}
			if err := tp.Backward(loss); err != nil {
				return err
			}
			_, err = opz.Step()
			opz.ZeroGrad()
			return err
		}); err != nil {
			return nil, err
		}
	}

	// One PC step = Langevin corrector + Euler–Maruyama predictor = 2 score evaluations.
	score := func(x *tensor.Tensor, t float64, cond []float32) (*tensor.Tensor, error) {
		return scorer.Score(x, cond, mask), nil
	}
	pcOpt := func(seed uint64) sde.Options { return sde.Options{Steps: 1, Seed: seed} }
	if run("pc") {
		if err := time1("pc step", &res.PCStepS, &res.PCStepCPUS, func() error {
			_, err := sde.SamplePC(context.Background(), ve, score, []int{b, 8, 7}, pcOpt(1))
			return err
		}); err != nil {
			return nil, err
		}
	}

	// Guided PC step: adds the predictor forward and d pred/dx at both evaluations.
	feats := tensor.RandN(rng, 10, 20, 512)
	ds := pred.EncodeDataset(gnn.Ctx{}, feats) // once per dataset
	dsc := autograd.Const(ds.Value)
	guided := func(x *tensor.Tensor, t float64, cond []float32) (*tensor.Tensor, error) {
		s := scorer.Score(x, cond, mask)
		tp := autograd.NewTape()
		xv := autograd.NewVar(x, true)
		y := pred.Forward(gnn.Ctx{Tape: tp}, xv, cond, fwd, bwd, dsc)
		g, err := tp.Grad(tp.SumAll(y), xv)
		if err != nil {
			return nil, err
		}
		return tensor.Add(s, tensor.Scale(g[0], 10000)), nil
	}
	if run("guided") {
		if err := time1("guided pc step", &res.GuidedPCStepS, &res.GuidedPCStepCPUS, func() error {
			_, err := sde.SamplePC(context.Background(), ve, guided, []int{b, 8, 7}, pcOpt(2))
			return err
		}); err != nil {
			return nil, err
		}
	}

	// Meta-predictor training step: batch b, a dataset of 10 classes x 20
	// samples x 512 features encoded once per step (shared by the batch).
	pocfg := optim.DefaultConfig()
	pocfg.LR, pocfg.Warmup, pocfg.EMADecay = 1e-3, 0, 0
	popt, err := optim.New(pred.Params(), pocfg)
	if err != nil {
		return nil, err
	}
	target := tensor.RandN(rng, b)
	prng := rng.Split()
	if run("predictor") {
		if err := time1("predictor train step", &res.PredictorTrainStepS, &res.PredictorTrainStepCPUS, func() error {
			tp := autograd.NewTape()
			c := gnn.Ctx{Tape: tp, Train: true, RNG: prng}
			d := pred.EncodeDataset(c, feats)
			y := pred.Forward(c, autograd.Const(xt), sigma, fwd, bwd, d)
			loss := tp.MSE(y, autograd.Const(target))
			if err := tp.Backward(loss); err != nil {
				return err
			}
			_, err := popt.Step()
			popt.ZeroGrad()
			return err
		}); err != nil {
			return nil, err
		}
	}

	res.ForwardGFLOP = CATEForwardFLOPs(cfg, b) / 1e9
	rate := func(gflop, s float64) float64 {
		if s <= 0 {
			return 0
		}
		return gflop / s
	}
	res.ForwardGFLOPS = rate(res.ForwardGFLOP, res.ForwardS)
	res.TrainStepGFLOPS = rate(3*res.ForwardGFLOP, res.TrainStepS)
	res.PCStepGFLOPS = rate(2*res.ForwardGFLOP, res.PCStepS)
	return res, nil
}

// cpuSeconds is the user + system CPU time of the process so far (0 where
// the platform cannot tell, so the JSON report stays encodable).
func cpuSeconds() float64 {
	if s := proccpu.Seconds(); !math.IsNaN(s) {
		return s
	}
	return 0
}
