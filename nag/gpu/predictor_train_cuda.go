//go:build cuda

package gpu

import (
	"fmt"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/kernels"
	"github.com/nagml/nag/tensor"
)

// PredictorTrainer runs the meta-predictor's training forward and backward on
// a device for batches of exactly B graphs (predictor.Accelerator): the DiGCN
// stack with dropout, the mean pooling, the σ(t) embedding MLP, fc1 with
// dropout, the head on [dataset vector, graph vector] and the MSE loss, then
// every parameter gradient but the dataset encoder's (the host encodes the
// batch's datasets, uploads one vector per graph and gets ∂loss/∂vector
// back). The host keeps the weights and the optimiser; Sync uploads them
// after each step. Dropout masks come from the Philox stream (seed, step), not
// from the host's generator.
//
// Written on 2026-11-28 without a GPU: TestPredictorTrainStepMatchesCPU
// compares it with the CPU, and `nag train-predictor --device cuda` checks its
// first batch against the CPU before training.
type PredictorTrainer struct {
	dev  *kernels.Device
	net  *gnn.Predictor
	cfg  gnn.PredictorConfig
	B    int
	seed uint64

	params []*autograd.Var // the network's parameters, device order
	ps     *kernels.ParamSet
	pos    map[*autograd.Var]int
	onDev  []int // indices of the parameters the device computes
	host   []float32

	fwd, bwd         *dt
	x, temb          *dt
	ds, y            *dt // [B, NZ], [B]
	gcnStack             // hs: layer inputs (hs[0] = x) and outputs after dropout; dh; wk
	g                *dt // [B, C] pooled graph vector (+ time embedding)
	te1, te1a, te2   *dt
	a, z1, u, pred   *dt
	res, sq, lossOut *dt
	// Backward.
	dy, du, dz1, dds, da, dg *dt
	dte1a, dte1              *dt
	topGrad                  *dt
	tmpHS, tmpC, tmp4C, tmp1 *dt
	ones                     *dt
	mem                      arena
	tc                       tembCache

	gradHost []float32
	ddsHost  []float32
}

// NewPredictorTrainer uploads net's weights and allocates the buffers for
// batches of b graphs with normalised adjacencies fwd, bwd [N, N].
func NewPredictorTrainer(dev *kernels.Device, net *gnn.Predictor, fwd, bwd *tensor.Tensor, b int, seed uint64) (*PredictorTrainer, error) {
	cfg := net.Config()
	n, c := cfg.Nodes, cfg.GCNHidden
	if b <= 0 {
		return nil, fmt.Errorf("gpu: batch %d must be positive", b)
	}
	if fwd == nil || bwd == nil || fwd.Len() != n*n || bwd.Len() != n*n {
		return nil, fmt.Errorf("gpu: normalised adjacencies must be [%d %d]", n, n)
	}
	if n > 32 {
		return nil, fmt.Errorf("gpu: the graph kernels support at most 32 nodes, the predictor has %d", n)
	}
	if !cfg.TimeEmbed {
		return nil, fmt.Errorf("gpu: predictor training on the device needs the σ(t) embedding (TimeEmbed)")
	}
	t := &PredictorTrainer{dev: dev, net: net, cfg: cfg, B: b, seed: seed, params: net.Params(), pos: map[*autograd.Var]int{}, mem: arena{dev: dev}}
	hostSide := map[*autograd.Var]bool{net.Unknown: true}
	for _, p := range net.Set.Params() {
		hostSide[p] = true
	}
	for i, p := range t.params {
		t.pos[p] = i
		if !hostSide[p] {
			t.onDev = append(t.onDev, i)
		}
	}
	ps, err := dev.NewParamSet(t.params, false)
	if err != nil {
		return nil, err
	}
	t.ps = ps
	up, mk := t.mem.upload, t.mem.empty
	t.fwd = up(fwd.Contiguous().Reshape(n, n))
	t.bwd = up(bwd.Contiguous().Reshape(n, n))
	lh, hsz, nz := cfg.LinearHidden, cfg.HS, cfg.NZ
	t.gcnStack = newGCNStack(&t.mem, b, n, cfg.Vocab, c, len(net.GCN))
	t.x = t.hs[0]
	t.temb, t.g = mk(b, c), mk(b, c)
	t.te1, t.te1a, t.te2 = mk(b, 4*c), mk(b, 4*c), mk(b, c)
	t.ds, t.y = mk(b, nz), mk(b)
	t.a, t.z1, t.u, t.pred = mk(b, lh), mk(b, hsz), mk(b, hsz), mk(b, 1)
	t.res, t.sq, t.lossOut = mk(b), mk(b), mk(1, 1)
	t.dy, t.du, t.dz1, t.dds, t.da, t.dg = mk(b, 1), mk(b, hsz), mk(b, hsz), mk(b, nz), mk(b, lh), mk(b, c)
	t.dte1a, t.dte1 = mk(b, 4*c), mk(b, 4*c)
	t.topGrad = mk(b, n, c)
	t.tmpHS, t.tmpC, t.tmp4C, t.tmp1 = mk(hsz), mk(c), mk(4*c), mk(1)
	t.ones = up(ones(max(b, n)))
	if err := t.mem.err; err != nil {
		t.Close()
		return nil, err
	}
	t.gradHost = make([]float32, ps.Len())
	t.ddsHost = make([]float32, b*nz)
	return t, nil
}

// Close releases the device buffers.
func (t *PredictorTrainer) Close() {
	t.mem.free()
	t.gcnStack.free()
	if t.ps != nil {
		t.ps.Free()
		t.ps = nil
	}
}

// Sync uploads the host values of every parameter.
func (t *PredictorTrainer) Sync() error {
	if len(t.host) != t.ps.Len() {
		t.host = make([]float32, t.ps.Len())
	}
	for i, p := range t.params {
		copy(t.host[t.ps.Offsets[i]:], p.Value.Contiguous().Data())
	}
	return t.ps.Values.CopyFrom(t.host)
}

func (t *PredictorTrainer) w(p *autograd.Var) *dt  { return t.ps.Value(t.pos[p]) }
func (t *PredictorTrainer) gr(p *autograd.Var) *dt { return t.ps.Grad(t.pos[p]) }

// Step runs the forward pass, the loss mean_b (ŷ_b − y_b)² and the backward
// pass for one batch (x [B·N·V], sigma [B], ds [B·NZ], y [B]); with train
// dropout is on. The returned gradients and ∂loss/∂ds are valid until the
// next Step.
func (t *PredictorTrainer) Step(x, sigma, ds, y []float32, train bool, step int64) (loss float64, dds []float32, grads map[*autograd.Var][]float32, err error) {
	cfg, b := t.cfg, t.B
	if len(x) != b*cfg.Nodes*cfg.Vocab || len(sigma) != b || len(ds) != b*cfg.NZ || len(y) != b {
		return 0, nil, nil, fmt.Errorf("gpu: predictor batch has %d/%d/%d/%d values for x/σ/ds/y, want %d/%d/%d/%d",
			len(x), len(sigma), len(ds), len(y), b*cfg.Nodes*cfg.Vocab, b, b*cfg.NZ, b)
	}
	ck := newChecker()
	ck.do(t.x.CopyFrom(x))
	ck.do(t.tc.upload(t.temb, sigma, cfg.GCNHidden))
	ck.do(t.ds.CopyFrom(ds))
	ck.do(t.y.CopyFrom(y))
	ck.do(t.ps.ZeroGrad())
	if ck.err != nil {
		return 0, nil, nil, ck.err
	}
	if err := t.forward(train, step); err != nil {
		return 0, nil, nil, err
	}
	if err := t.backward(train, step); err != nil {
		return 0, nil, nil, err
	}
	var l [1]float32
	if err := t.lossOut.CopyTo(l[:]); err != nil {
		return 0, nil, nil, err
	}
	if err := t.ps.Grads.CopyTo(t.gradHost); err != nil {
		return 0, nil, nil, err
	}
	if err := t.dds.CopyTo(t.ddsHost); err != nil {
		return 0, nil, nil, err
	}
	grads = make(map[*autograd.Var][]float32, len(t.onDev))
	for _, i := range t.onDev {
		p := t.params[i]
		grads[p] = t.gradHost[t.ps.Offsets[i] : t.ps.Offsets[i]+p.Value.Len()]
	}
	return float64(l[0]) / float64(b), t.ddsHost, grads, nil
}

// dropSites: GCN layer l uses site l, fc1 site GCNLayers.
func (t *PredictorTrainer) drop(x *dt, site int, step int64) error {
	return t.dev.Dropout(x, float32(t.cfg.Dropout), t.seed, dropOffset(step, site), x)
}

// headViews returns the head's first-layer weight (or gradient) [HS,
// NZ+LH] as its dataset columns and its graph columns, strided views with
// leading dimension NZ+LH.
func (t *PredictorTrainer) headViews(w *dt) (dsCols, graphCols *dt) {
	ld := t.cfg.NZ + t.cfg.LinearHidden
	flat := w.Reshape(t.cfg.HS * ld)
	return flat, flat.Rows(t.cfg.NZ, t.cfg.HS*ld)
}

func (t *PredictorTrainer) forward(train bool, step int64) error {
	dev, cfg, net := t.dev, t.cfg, t.net
	b, n, c := t.B, cfg.Nodes, cfg.GCNHidden
	lh, hsz, nz := cfg.LinearHidden, cfg.HS, cfg.NZ
	dropping := train && cfg.Dropout > 0
	ck := newChecker()
	for i, l := range net.GCN {
		ck.do(dev.DiGCNForward(t.hs[i], t.fwd, t.bwd, t.w(l.W1.Weight), t.w(l.W2.Weight), t.wk[i], t.hs[i+1]))
		if dropping {
			ck.do(t.drop(t.hs[i+1], i, step))
		}
	}
	ck.do(dev.ReduceMid(kernels.ReduceMean, t.hs[len(t.hs)-1], b, n, c, t.g))
	ck.do(dev.Linear(t.temb, t.w(net.Temb1.Weight), t.w(net.Temb1.Bias), kernels.NoAct, 0, t.te1))
	ck.do(dev.Unary(kernels.SiLU, t.te1, 0, t.te1a))
	ck.do(dev.Linear(t.te1a, t.w(net.Temb2.Weight), t.w(net.Temb2.Bias), kernels.NoAct, 0, t.te2))
	ck.do(dev.Binary(kernels.Add, t.g, t.te2, t.g))
	ck.do(dev.Linear(t.g, t.w(net.FC1.Weight), nil, kernels.NoAct, 0, t.a))
	if dropping {
		ck.do(t.drop(t.a, len(net.GCN), step))
	}
	// z1 = ds·W_dsᵀ + a·W_aᵀ, u = tanh(z1 + b1), ŷ = u·w2ᵀ + b2.
	ld := nz + lh
	wds, wa := t.headViews(t.w(net.Head1.Weight))
	ck.do(dev.Gemm(kernels.GemmArgs{TransB: true, M: b, N: hsz, K: nz, Alpha: 1, Lda: nz, Ldb: ld, Ldc: hsz}, t.ds, wds, t.z1))
	ck.do(dev.Gemm(kernels.GemmArgs{TransB: true, M: b, N: hsz, K: lh, Alpha: 1, Beta: 1, Lda: lh, Ldb: ld, Ldc: hsz}, t.a, wa, t.z1))
	ck.do(dev.BiasAct(t.z1, t.w(net.Head1.Bias), kernels.Tanh, 0, t.u))
	ck.do(dev.Linear(t.u, t.w(net.Head2.Weight), t.w(net.Head2.Bias), kernels.NoAct, 0, t.pred))
	// Loss Σ_b (ŷ_b − y_b)² (divided by B on the host) and dŷ = 2(ŷ − y)/B.
	ck.do(dev.Binary(kernels.Sub, t.pred.Reshape(b), t.y, t.res))
	ck.do(dev.Unary(kernels.Square, t.res, 0, t.sq))
	ck.do(dev.ReduceLast(kernels.ReduceSum, t.sq.Reshape(1, b), t.lossOut))
	ck.do(dev.BinaryScalar(kernels.Mul, t.res, 2/float32(b), t.dy.Reshape(b)))
	return ck.err
}

func (t *PredictorTrainer) backward(train bool, step int64) error {
	dev, cfg, net := t.dev, t.cfg, t.net
	b, n, c := t.B, cfg.Nodes, cfg.GCNHidden
	lh, hsz, nz := cfg.LinearHidden, cfg.HS, cfg.NZ
	dropping := train && cfg.Dropout > 0
	ld := nz + lh
	ck := newChecker()
	ck.do(dev.LinearBackward(t.u, t.w(net.Head2.Weight), t.dy, t.du, t.gr(net.Head2.Weight), t.gr(net.Head2.Bias), t.tmp1))
	ck.do(dev.UnaryGrad(kernels.Tanh, t.u, t.du, 0, t.dz1))
	// Head1: dW[:, :NZ] += dz1ᵀ·ds, dW[:, NZ:] += dz1ᵀ·a, db1 += Σ_b dz1,
	// dds = dz1·W_ds, da = dz1·W_a.
	gds, ga := t.headViews(t.gr(net.Head1.Weight))
	ck.do(dev.Gemm(kernels.GemmArgs{TransA: true, M: hsz, N: nz, K: b, Alpha: 1, Beta: 1, Lda: hsz, Ldb: nz, Ldc: ld}, t.dz1, t.ds, gds))
	ck.do(dev.Gemm(kernels.GemmArgs{TransA: true, M: hsz, N: lh, K: b, Alpha: 1, Beta: 1, Lda: hsz, Ldb: lh, Ldc: ld}, t.dz1, t.a, ga))
	ck.do(dev.ReduceMid(kernels.ReduceSum, t.dz1, 1, b, hsz, t.tmpHS))
	ck.do(dev.Binary(kernels.Add, t.gr(net.Head1.Bias), t.tmpHS, t.gr(net.Head1.Bias)))
	wds, wa := t.headViews(t.w(net.Head1.Weight))
	ck.do(dev.Gemm(kernels.GemmArgs{M: b, N: nz, K: hsz, Alpha: 1, Lda: hsz, Ldb: ld, Ldc: nz}, t.dz1, wds, t.dds))
	ck.do(dev.Gemm(kernels.GemmArgs{M: b, N: lh, K: hsz, Alpha: 1, Lda: hsz, Ldb: ld, Ldc: lh}, t.dz1, wa, t.da))
	if dropping {
		ck.do(t.drop(t.da, len(net.GCN), step))
	}
	ck.do(dev.LinearBackward(t.g, t.w(net.FC1.Weight), t.da, t.dg, t.gr(net.FC1.Weight), nil, nil))
	// g = mean_nodes(h) + temb2(SiLU(temb1(e))): dg flows into both.
	ck.do(dev.LinearBackward(t.te1a, t.w(net.Temb2.Weight), t.dg, t.dte1a, t.gr(net.Temb2.Weight), t.gr(net.Temb2.Bias), t.tmpC))
	ck.do(dev.UnaryGrad(kernels.SiLU, t.te1, t.dte1a, 0, t.dte1))
	ck.do(dev.LinearBackward(t.temb, t.w(net.Temb1.Weight), t.dte1, nil, t.gr(net.Temb1.Weight), t.gr(net.Temb1.Bias), t.tmp4C))
	// Mean over nodes: dh[b, i, :] = dg[b, :]/N.
	ck.do(dev.Gemm(kernels.GemmArgs{M: n, N: c, K: 1, Alpha: 1 / float32(n), Lda: 1, Ldb: c, Ldc: c,
		Batch: b, StrideA: 0, StrideB: int64(c), StrideC: int64(n * c)}, t.ones, t.dg, t.topGrad))
	gout := t.topGrad
	for i := len(net.GCN) - 1; i >= 0; i-- {
		if dropping {
			ck.do(t.drop(gout, i, step))
		}
		var dh *dt
		if i > 0 {
			dh = t.dh[i]
		}
		l := net.GCN[i]
		ck.do(dev.DiGCNBackward(t.hs[i], t.fwd, t.bwd, t.w(l.W1.Weight), t.w(l.W2.Weight), t.wk[i], gout, dh,
			t.gr(l.W1.Weight), t.gr(l.W2.Weight)))
		gout = dh
	}
	return ck.err
}
