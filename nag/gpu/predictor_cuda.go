//go:build cuda

package gpu

import (
	"fmt"

	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/kernels"
	"github.com/nagml/nag/tensor"
)

// Predictor evaluates the noise-aware meta-predictor on a device for a fixed
// dataset vector and batches of exactly B graphs: its prediction and the
// gradient of Σ_b ŷ_b with respect to the input node matrices (the guidance
// term), in eval mode (no dropout). The dataset vector does not depend on x,
// so its part of the first head layer, ds·W_dsᵀ + b, is folded into a bias
// on the host once.
type Predictor struct {
	dev *kernels.Device
	cfg gnn.PredictorConfig
	B   int

	fwd, bwd       *dt   // normalised adjacencies [N, N]
	gw1, gw2       []*dt // DiGCN weights per layer
	t1w, t1b       *dt   // time MLP
	t2w, t2b       *dt
	fc1, headA     *dt // fc1 [LH, C]; head1 columns of the graph vector [HS, LH] (strided view)
	headBias       *dt // ds·W_dsᵀ + b1 [HS]
	head2w, head2b *dt // [1, HS], [1]
	ldHead         int

	x, temb   *dt
	gcnStack      // hs: layer inputs (hs[0] = x) and output; dh; wk
	g, te1    *dt // [B, C], [B, 4C] (pre-activation)
	te1a, te2 *dt
	a, z1, u  *dt // [B, LH], [B, HS], [B, HS]
	y         *dt // [B, 1]
	ones      *dt
	// Backward.
	du, dz1, da, dg *dt
	topGrad         *dt   // [B, N, C]: gradient at the last GCN output
	mem             arena // every buffer above except the work buffers
	tc              tembCache

	useGraph bool
	graph    *kernels.Graph
	graphErr error
}

// UseGraph selects whether InputGradDevice replays its forward and backward
// as one CUDA graph (default on unless NAG_CUDA_GRAPHS=0).
func (p *Predictor) UseGraph(on bool) {
	if !on {
		p.graph.Destroy()
		p.graph = nil
	}
	p.useGraph = on
}

// GraphErr reports why the gradient is not running as a graph.
func (p *Predictor) GraphErr() error { return p.graphErr }

// Graphed reports whether the gradient runs as a captured CUDA graph.
func (p *Predictor) Graphed() bool { return p.graph != nil }

// NewPredictor uploads the predictor's weights for dataset vector ds [NZ]
// (Model.DatasetVector) and the normalised adjacencies fwd, bwd [N, N]
// (gnn.NormalizedAdjacency), and allocates the buffers for batches of b
// graphs.
func NewPredictor(dev *kernels.Device, p *gnn.Predictor, ds, fwd, bwd *tensor.Tensor, b int) (*Predictor, error) {
	cfg := p.Config()
	if b <= 0 {
		return nil, fmt.Errorf("gpu: batch %d must be positive", b)
	}
	if ds == nil || ds.Len() != cfg.NZ {
		return nil, fmt.Errorf("gpu: dataset vector must have %d values", cfg.NZ)
	}
	if fwd == nil || bwd == nil || fwd.Len() != cfg.Nodes*cfg.Nodes || bwd.Len() != cfg.Nodes*cfg.Nodes {
		return nil, fmt.Errorf("gpu: normalised adjacencies must be [%d %d]", cfg.Nodes, cfg.Nodes)
	}
	if cfg.Nodes > 32 {
		return nil, fmt.Errorf("gpu: the graph kernels support at most 32 nodes, the predictor has %d", cfg.Nodes)
	}
	pr := &Predictor{dev: dev, cfg: cfg, B: b, useGraph: graphsDefault(), mem: arena{dev: dev}}
	up, mk := pr.mem.upload, pr.mem.empty
	pr.fwd = up(fwd.Contiguous().Reshape(cfg.Nodes, cfg.Nodes))
	pr.bwd = up(bwd.Contiguous().Reshape(cfg.Nodes, cfg.Nodes))
	for _, l := range p.GCN {
		pr.gw1 = append(pr.gw1, up(l.W1.Weight.Value))
		pr.gw2 = append(pr.gw2, up(l.W2.Weight.Value))
	}
	if cfg.TimeEmbed {
		pr.t1w, pr.t1b = up(p.Temb1.Weight.Value), up(p.Temb1.Bias.Value)
		pr.t2w, pr.t2b = up(p.Temb2.Weight.Value), up(p.Temb2.Bias.Value)
	}
	pr.fc1 = up(p.FC1.Weight.Value)
	// Head1 weight [HS, NZ+LH]: columns [0, NZ) see the dataset vector,
	// [NZ, NZ+LH) the graph vector.
	hw := p.Head1.Weight.Value.Contiguous()
	hsz, lh, nz := cfg.HS, cfg.LinearHidden, cfg.NZ
	pr.ldHead = nz + lh
	pr.headA = up(hw)
	bias := make([]float32, hsz)
	hd, dsd := hw.Data(), ds.Contiguous().Data()
	hb := p.Head1.Bias.Value.Data()
	for i := 0; i < hsz; i++ {
		s := float64(hb[i])
		for j := 0; j < nz; j++ {
			s += float64(hd[i*(nz+lh)+j]) * float64(dsd[j])
		}
		bias[i] = float32(s)
	}
	pr.headBias = up(tensor.FromSlice(bias, hsz))
	pr.head2w, pr.head2b = up(p.Head2.Weight.Value), up(p.Head2.Bias.Value)
	c := cfg.GCNHidden
	n := cfg.Nodes
	pr.gcnStack = newGCNStack(&pr.mem, b, n, cfg.Vocab, c, len(p.GCN))
	pr.x = pr.hs[0]
	pr.temb = mk(b, c)
	pr.g = mk(b, c)
	pr.te1, pr.te1a, pr.te2 = mk(b, 4*c), mk(b, 4*c), mk(b, c)
	pr.a, pr.z1, pr.u, pr.y = mk(b, lh), mk(b, hsz), mk(b, hsz), mk(b, 1)
	pr.du, pr.dz1, pr.da, pr.dg = mk(b, hsz), mk(b, hsz), mk(b, lh), mk(b, c)
	pr.topGrad = mk(b, n, c)
	pr.ones = up(ones(max(b, n)))
	if err := pr.mem.err; err != nil {
		pr.Free()
		return nil, err
	}
	return pr, nil
}

// Free releases the device buffers.
func (p *Predictor) Free() {
	p.mem.free()
	p.gcnStack.free()
	p.graph.Destroy()
	p.graph = nil
}

// forward computes ŷ for the uploaded x and time embedding.
func (p *Predictor) forward() error {
	dev, cfg := p.dev, p.cfg
	b, n, c := p.B, cfg.Nodes, cfg.GCNHidden
	ck := newChecker()
	for i := range p.wk {
		ck.do(dev.DiGCNForward(p.hs[i], p.fwd, p.bwd, p.gw1[i], p.gw2[i], p.wk[i], p.hs[i+1]))
	}
	ck.do(dev.ReduceMid(kernels.ReduceMean, p.hs[len(p.hs)-1], b, n, c, p.g))
	if cfg.TimeEmbed {
		ck.do(dev.Linear(p.temb, p.t1w, p.t1b, kernels.NoAct, 0, p.te1))
		ck.do(dev.Unary(kernels.SiLU, p.te1, 0, p.te1a))
		ck.do(dev.Linear(p.te1a, p.t2w, p.t2b, kernels.NoAct, 0, p.te2))
		ck.do(dev.Binary(kernels.Add, p.g, p.te2, p.g))
	}
	ck.do(dev.Linear(p.g, p.fc1, nil, kernels.NoAct, 0, p.a))
	// z1 = a·W_aᵀ + bias, W_a = head1 weight columns [NZ, NZ+LH).
	lh, hsz := cfg.LinearHidden, cfg.HS
	wa := p.headA.Reshape(hsz*p.ldHead).Rows(cfg.NZ, hsz*p.ldHead)
	ck.do(dev.Gemm(kernels.GemmArgs{TransB: true, M: b, N: hsz, K: lh, Alpha: 1, Lda: lh, Ldb: p.ldHead, Ldc: hsz}, p.a, wa, p.z1))
	ck.do(dev.BiasAct(p.z1, p.headBias, kernels.Tanh, 0, p.u))
	ck.do(dev.Linear(p.u, p.head2w, p.head2b, kernels.NoAct, 0, p.y))
	return ck.err
}

// setInputs uploads x (B·N·V values) and the time embedding of sigma.
func (p *Predictor) setInputs(x, sigma []float32) error {
	cfg := p.cfg
	if len(x) != p.B*cfg.Nodes*cfg.Vocab {
		return fmt.Errorf("gpu: predictor input has %d values, want %d x %d x %d", len(x), p.B, cfg.Nodes, cfg.Vocab)
	}
	if len(sigma) != p.B {
		return fmt.Errorf("gpu: %d time inputs for a batch of %d", len(sigma), p.B)
	}
	if err := p.x.CopyFrom(x); err != nil {
		return err
	}
	if !cfg.TimeEmbed {
		return nil
	}
	return p.tc.upload(p.temb, sigma, cfg.GCNHidden)
}

// Predict returns ŷ [B] for x (B·N·V values) at time inputs sigma.
func (p *Predictor) Predict(x, sigma []float32) ([]float32, error) {
	if err := p.setInputs(x, sigma); err != nil {
		return nil, err
	}
	if err := p.forward(); err != nil {
		return nil, err
	}
	out := make([]float32, p.B)
	return out, p.y.CopyTo(out)
}

// InputGradDevice computes ∂(Σ_b ŷ_b)/∂x for x at time inputs sigma and
// returns it as a device tensor [B, N, V] (valid until the next call).
func (p *Predictor) InputGradDevice(x, sigma []float32) (*dt, error) {
	if err := p.setInputs(x, sigma); err != nil {
		return nil, err
	}
	if p.useGraph && p.graph == nil && p.graphErr == nil {
		g, err := p.dev.Capture(p.gradLaunches)
		if err != nil {
			p.graphErr = err
		} else {
			p.graph = g
		}
	}
	if p.graph != nil {
		return p.dh[0], p.graph.Launch()
	}
	return p.dh[0], p.gradLaunches()
}

// gradLaunches queues the forward and the input-gradient backward.
func (p *Predictor) gradLaunches() error {
	if err := p.forward(); err != nil {
		return err
	}
	dev, cfg := p.dev, p.cfg
	b, n, c := p.B, cfg.Nodes, cfg.GCNHidden
	lh, hsz := cfg.LinearHidden, cfg.HS
	ck := newChecker()
	// ∂y_b/∂u_b = head2 weight row: du = ones[B,1]·w2[1,HS].
	ck.do(dev.Gemm(kernels.GemmArgs{M: b, N: hsz, K: 1, Alpha: 1, Lda: 1, Ldb: hsz, Ldc: hsz}, p.ones, p.head2w, p.du))
	ck.do(dev.UnaryGrad(kernels.Tanh, p.u, p.du, 0, p.dz1))
	wa := p.headA.Reshape(hsz*p.ldHead).Rows(cfg.NZ, hsz*p.ldHead)
	ck.do(dev.Gemm(kernels.GemmArgs{M: b, N: lh, K: hsz, Alpha: 1, Lda: hsz, Ldb: p.ldHead, Ldc: lh}, p.dz1, wa, p.da))
	ck.do(dev.Gemm(kernels.GemmArgs{M: b, N: c, K: lh, Alpha: 1, Lda: lh, Ldb: c, Ldc: c}, p.da, p.fc1, p.dg))
	// Mean over nodes: dh[b, i, :] = dg[b, :]/N.
	ck.do(dev.Gemm(kernels.GemmArgs{M: n, N: c, K: 1, Alpha: 1 / float32(n), Lda: 1, Ldb: c, Ldc: c,
		Batch: b, StrideA: 0, StrideB: int64(c), StrideC: int64(n * c)}, p.ones, p.dg, p.topGrad))
	gout := p.topGrad
	for i := len(p.wk) - 1; i >= 0; i-- {
		ck.do(dev.DiGCNBackward(p.hs[i], p.fwd, p.bwd, p.gw1[i], p.gw2[i], p.wk[i], gout, p.dh[i], nil, nil))
		gout = p.dh[i]
	}
	return ck.err
}

// InputGrad is InputGradDevice with the gradient downloaded into out.
func (p *Predictor) InputGrad(x, sigma, out []float32) error {
	g, err := p.InputGradDevice(x, sigma)
	if err != nil {
		return err
	}
	return g.CopyTo(out)
}
