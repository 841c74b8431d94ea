//go:build cuda

package gpu

import (
	"fmt"
	"math"
	"os"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/kernels"
	"github.com/nagml/nag/tensor"
)

type dt = kernels.DeviceTensor

// CATE is a CATE score network resident on a device for batches of exactly
// B graphs. Its parameters live in a kernels.ParamSet in a device order in
// which each block's q, k, v weights (and biases) are adjacent, so the three
// projections are one GEMM. All activation buffers are allocated once by
// NewCATE; Score and TrainStep launch into them.
type CATE struct {
	dev   *kernels.Device
	net   *gnn.CATE
	cfg   gnn.CATEConfig
	B     int
	train bool

	order []*autograd.Var // parameters in device order
	ps    *kernels.ParamSet
	pos   map[string]int // name -> index in order

	// Constants.
	pe, mask, negMask, ones *dt

	// Inputs.
	x, temb *dt // [R, V], [B, d]

	// Activations (per block where the backward needs them).
	tz, tH, tOut *dt // [B, T], [B, T], [B, d]
	e0           *dt // [R, d] embedding Linear output
	h            []*dt
	hm           []*dt
	a1, a2       []*dt
	m1, r1       []*dt
	m2, r2       []*dt
	mo, ro       []*dt
	lo           *dt   // [R, d] scratch for norm_out
	qkv          []*dt // [R, 3d]
	qkvh         []*dt // [3, B, H, N, Dh]
	probs        []*dt // [B, H, N, N] (softmax output)
	probsD       []*dt // dropped probabilities (train; = probs when no dropout)
	oh           []*dt // [B, H, N, Dh]
	at           []*dt // [R, d]
	br1, br2     []*dt // [R, d]
	f, fd        []*dt // [R, F]
	cat          *dt   // [R, L·d]
	z, y         []*dt // readout pre-/post-activation [R, w_i]
	score        *dt   // [R, V]

	// Backward scratch (train only).
	dScore, dH, dTmp, dLO, dAT, dBR *dt
	dF, dCat, dQKV                  *dt
	dQKVh, dOh, dP                  *dt
	dY, dZ                          []*dt
	dtOut, dtH, dtz                 *dt
	dbTmp                           *dt // bias-gradient scratch, widest layer
	sq                              *dt // squared gradients, padded to a multiple of 1024
	part                            *dt
	loss                            *dsm
	tc                              tembCache
	mem                             arena // every buffer above

	// Eval forward as a CUDA graph (captured on first use; see UseGraph).
	useGraph bool
	graph    *kernels.Graph
	graphErr error
}

// UseGraph selects whether Score replays the eval forward as one CUDA graph
// (captured on the first call; default on unless NAG_CUDA_GRAPHS=0) instead
// of launching its ~150 kernels one by one. A capture failure falls back to
// direct launches and is reported by GraphErr.
func (m *CATE) UseGraph(on bool) {
	if !on {
		m.graph.Destroy()
		m.graph = nil
	}
	m.useGraph = on
}

// GraphErr reports why the eval forward is not running as a graph (nil when
// it is, or when graphs are off).
func (m *CATE) GraphErr() error { return m.graphErr }

// Graphed reports whether the eval forward runs as a captured CUDA graph.
func (m *CATE) Graphed() bool { return m.graph != nil }

// evalForward runs the eval forward, through the graph when enabled.
func (m *CATE) evalForward() error {
	if m.useGraph && m.graph == nil && m.graphErr == nil {
		g, err := m.dev.Capture(func() error { return m.forward(false, 0, 0) })
		if err != nil {
			m.graphErr = err
		} else {
			m.graph = g
		}
	}
	if m.graph != nil {
		return m.graph.Launch()
	}
	return m.forward(false, 0, 0)
}

// NewCATE uploads net's parameters and allocates the buffers for batches of
// b graphs. With train set it also allocates what TrainStep needs (saved
// activations, gradient scratch, Adam moments and the EMA shadow).
func NewCATE(dev *kernels.Device, net *gnn.CATE, b int, train bool) (*CATE, error) {
	cfg := net.Config()
	if b <= 0 {
		return nil, fmt.Errorf("gpu: batch %d must be positive", b)
	}
	if cfg.Nodes > 32 || cfg.DModel/cfg.Heads > 64 {
		return nil, fmt.Errorf("gpu: the fused attention supports at most 32 nodes and head width 64 (config has %d, %d)",
			cfg.Nodes, cfg.DModel/cfg.Heads)
	}
	m := &CATE{dev: dev, net: net, cfg: cfg, B: b, train: train, pos: map[string]int{}, useGraph: graphsDefault(),
		mem: arena{dev: dev}}
	byName := map[string]*autograd.Var{}
	for _, p := range net.Params() {
		byName[p.Name] = p
	}
	add := func(names ...string) error {
		for _, n := range names {
			p, ok := byName[n]
			if !ok {
				return fmt.Errorf("gpu: CATE has no parameter %q", n)
			}
			m.pos[n] = len(m.order)
			m.order = append(m.order, p)
		}
		return nil
	}
	lin := func(p string) []string { return []string{p + ".weight", p + ".bias"} }
	names := append(lin("embed"), append(lin("time.0"), lin("time.2")...)...)
	for l := 0; l < cfg.Layers; l++ {
		p := fmt.Sprintf("blocks.%d.", l)
		names = append(names, lin(p+"ln1")...)
		names = append(names, p+"attn.q.weight", p+"attn.k.weight", p+"attn.v.weight",
			p+"attn.q.bias", p+"attn.k.bias", p+"attn.v.bias")
		names = append(names, lin(p+"attn.out")...)
		names = append(names, lin(p+"ln2")...)
		names = append(names, lin(p+"ff.0")...)
		names = append(names, lin(p+"ff.1")...)
		names = append(names, lin(p+"norm_out")...)
	}
	for i := 0; i <= len(cfg.MLPHidden); i++ {
		names = append(names, lin(fmt.Sprintf("readout.%d", i))...)
	}
	if err := add(names...); err != nil {
		return nil, err
	}
	if len(m.order) != len(net.Params()) {
		return nil, fmt.Errorf("gpu: CATE has %d parameters, the device layout covers %d", len(net.Params()), len(m.order))
	}
	var err error
	if m.ps, err = dev.NewParamSet(m.order, train); err != nil {
		return nil, err
	}
	if err := m.alloc(); err != nil {
		m.Free()
		return nil, err
	}
	return m, nil
}

// Params returns the parameter set (device order; see Order).
func (m *CATE) Params() *kernels.ParamSet { return m.ps }

// Order returns the model's parameters in the device order of Params.
func (m *CATE) Order() []*autograd.Var { return m.order }

// w returns the device view of parameter name.
func (m *CATE) w(name string) *dt {
	i, ok := m.pos[name]
	if !ok {
		panic("gpu: no parameter " + name)
	}
	return m.ps.Value(i)
}

// g returns the gradient view of parameter name.
func (m *CATE) g(name string) *dt { return m.ps.Grad(m.pos[name]) }

// span returns the values (grad=false) or gradients of the adjacent
// parameters first..last as one tensor of the given shape.
func (m *CATE) span(grad bool, first, last string, shape ...int) *dt {
	i, j := m.pos[first], m.pos[last]
	buf := m.ps.Values
	if grad {
		buf = m.ps.Grads
	}
	n := 1
	for _, s := range m.ps.Shapes[j] {
		n *= s
	}
	return buf.Rows(m.ps.Offsets[i], m.ps.Offsets[j]+n).Reshape(shape...)
}

// qkvParams returns block l's packed q, k, v projection: weight [3d, d] and bias
// [3d] (grad: their gradients), adjacent in the device layout.
func (m *CATE) qkvParams(l int, grad bool) (w, b *dt) {
	pre, d := fmt.Sprintf("blocks.%d.attn.", l), m.cfg.DModel
	return m.span(grad, pre+"q.weight", pre+"v.weight", 3*d, d), m.span(grad, pre+"q.bias", pre+"v.bias", 3*d)
}

// heads returns the q, k, v parts [B, H, N, Dh] of a split projection
// buffer [3, B, H, N, Dh].
func (m *CATE) heads(buf *dt) (q, k, v *dt) {
	c := m.cfg
	part := func(i int) *dt { return buf.Rows(i, i+1).Reshape(m.B, c.Heads, c.Nodes, c.DModel/c.Heads) }
	return part(0), part(1), part(2)
}

func (m *CATE) alloc() error {
	c, d := m.cfg, m.cfg.DModel
	b, n := m.B, c.Nodes
	r := b * n
	dh := d / c.Heads
	mk := m.mem.empty
	perLayer := func(shape ...int) []*dt { return m.mem.perLayer(c.Layers, shape...) }
	m.x, m.temb = mk(r, c.Vocab), mk(b, d)
	m.tz, m.tH, m.tOut = mk(b, c.TimeHidden), mk(b, c.TimeHidden), mk(b, d)
	m.e0 = mk(r, d)
	m.h = make([]*dt, c.Layers+1)
	for i := range m.h {
		m.h[i] = mk(r, d)
	}
	m.hm = perLayer(r, d)
	m.a1, m.a2 = perLayer(r, d), perLayer(r, d)
	m.m1, m.r1, m.m2, m.r2, m.mo, m.ro = perLayer(r), perLayer(r), perLayer(r), perLayer(r), perLayer(r), perLayer(r)
	m.lo = mk(r, d)
	m.qkv = perLayer(r, 3*d)
	m.qkvh = perLayer(3, b, c.Heads, n, dh)
	m.probs = perLayer(b, c.Heads, n, n)
	if m.train && c.Dropout > 0 {
		m.probsD = perLayer(b, c.Heads, n, n)
	} else {
		m.probsD = m.probs
	}
	m.oh = perLayer(b, c.Heads, n, dh)
	m.at = perLayer(r, d)
	m.br1, m.br2 = perLayer(r, d), perLayer(r, d)
	m.f = perLayer(r, c.DFF)
	if m.train && c.Dropout > 0 {
		m.fd = perLayer(r, c.DFF)
	} else {
		m.fd = m.f
	}
	m.cat = mk(r, c.Layers*d)
	widths := append(append([]int(nil), c.MLPHidden...), c.Vocab)
	for _, wd := range widths {
		m.z = append(m.z, mk(r, wd))
		m.y = append(m.y, mk(r, wd))
	}
	m.score = m.y[len(m.y)-1]
	// Constants.
	pe := gnn.CellPositionalEncoding(n, d)
	if c.PosEnc == "stagewise" {
		pe = gnn.StageWisePositionalEncoding(n, d, c.StageLen)
	}
	m.pe, m.ones = m.mem.upload(pe), m.mem.upload(ones(max(n, b)))
	if !m.train {
		return m.mem.err
	}
	maxw := max(3*d, c.DFF, c.TimeHidden, c.Vocab)
	for _, wd := range widths {
		maxw = max(maxw, wd)
	}
	m.dScore = mk(r, c.Vocab)
	m.dH, m.dTmp, m.dLO, m.dAT, m.dBR = mk(r, d), mk(r, d), mk(r, d), mk(r, d), mk(r, d)
	m.dF, m.dCat, m.dQKV = mk(r, c.DFF), mk(r, c.Layers*d), mk(r, 3*d)
	m.dQKVh, m.dOh, m.dP = mk(3, b, c.Heads, n, dh), mk(b, c.Heads, n, dh), mk(b, c.Heads, n, n)
	for _, wd := range widths {
		m.dY = append(m.dY, mk(r, wd))
		m.dZ = append(m.dZ, mk(r, wd))
	}
	m.dtOut, m.dtH, m.dtz = mk(b, d), mk(b, c.TimeHidden), mk(b, c.TimeHidden)
	m.dbTmp = mk(maxw)
	np := (m.ps.Len() + 1023) / 1024
	m.sq, m.part = mk(np*1024), mk(np)
	return m.mem.err
}

// SetMask uploads the 0/1 attention mask [N, N] (mask[i][j] = 0: node i does
// not attend to node j) shared by every graph of the batch.
func (m *CATE) SetMask(mask *tensor.Tensor) error {
	n := m.cfg.Nodes
	if mask == nil || mask.Len() != n*n {
		return fmt.Errorf("gpu: attention mask must be [%d %d]", n, n)
	}
	md := mask.Contiguous().Data()
	neg := make([]float32, n*n)
	bin := make([]float32, n*n)
	for i, v := range md {
		if v == 0 {
			neg[i] = -1e9
		} else {
			bin[i] = 1
		}
	}
	if m.mask == nil {
		m.mask, m.negMask = m.mem.empty(n, n), m.mem.empty(n*n)
		if m.mem.err != nil {
			return m.mem.err
		}
	}
	if err := m.mask.CopyFrom(bin); err != nil {
		return err
	}
	return m.negMask.CopyFrom(neg)
}

// Free releases the device buffers (the parameter set included).
func (m *CATE) Free() {
	m.mem.free()
	if m.ps != nil {
		m.ps.Free()
	}
	m.graph.Destroy()
	m.graph = nil
}

// graphsDefault is true unless the environment sets NAG_CUDA_GRAPHS=0.
func graphsDefault() bool { return os.Getenv("NAG_CUDA_GRAPHS") != "0" }

// setInputs uploads x [B, N, V] and the time embedding of sigma.
func (m *CATE) setInputs(x []float32, sigma []float32) error {
	c := m.cfg
	if len(x) != m.B*c.Nodes*c.Vocab {
		return fmt.Errorf("gpu: score input has %d values, want %d x %d x %d", len(x), m.B, c.Nodes, c.Vocab)
	}
	if len(sigma) != m.B {
		return fmt.Errorf("gpu: %d time inputs for a batch of %d", len(sigma), m.B)
	}
	if m.mask == nil {
		return fmt.Errorf("gpu: attention mask not set (SetMask)")
	}
	if err := m.x.CopyFrom(x); err != nil {
		return err
	}
	return m.tc.upload(m.temb, sigma, c.DModel)
}

// dropout offsets: every dropout site of a training step draws from its own
// range of the Philox stream (seed, step·2^32 + site·2^24).
func dropOffset(step int64, site int) uint64 { return uint64(step)<<32 + uint64(site)<<24 }

// forward runs the network on the uploaded inputs. With train, dropout sites
// draw from (seed, step) and attention runs unfused (its weights can be
// dropped); otherwise attention is the fused kernel.
func (m *CATE) forward(train bool, seed uint64, step int64) error {
	dev, c := m.dev, m.cfg
	d, n, b := c.DModel, c.Nodes, m.B
	r := b * n
	dh := d / c.Heads
	p := float32(c.Dropout)
	dropping := train && p > 0
	site := 0
	drop := func(x *dt) error {
		if !dropping {
			return nil
		}
		site++
		return dev.Dropout(x, p, seed, dropOffset(step, site), x)
	}
	ck := newChecker()
	// Time embedding MLP.
	ck.do(dev.Linear(m.temb, m.w("time.0.weight"), m.w("time.0.bias"), kernels.NoAct, 0, m.tz))
	ck.do(dev.Unary(kernels.SiLU, m.tz, 0, m.tH))
	ck.do(dev.Linear(m.tH, m.w("time.2.weight"), m.w("time.2.bias"), kernels.NoAct, 0, m.tOut))
	// h0 = drop(√d·Linear(x)) + PE + time.
	h := m.h[0]
	ck.do(dev.Linear(m.x, m.w("embed.weight"), m.w("embed.bias"), kernels.NoAct, 0, m.e0))
	ck.do(dev.BinaryScalar(kernels.Mul, m.e0, float32(math.Sqrt(float64(d))), h))
	ck.do(drop(h))
	ck.do(dev.BinaryRow(kernels.Add, h.Reshape(b, n*d), m.pe.Reshape(n*d), h.Reshape(b, n*d)))
	ck.do(dev.Gemm(kernels.GemmArgs{M: n, N: d, K: 1, Alpha: 1, Beta: 1, Lda: 1, Ldb: d, Ldc: d,
		Batch: b, StrideA: 0, StrideB: int64(d), StrideC: int64(n * d)}, m.ones, m.tOut, h))
	scale := float32(1 / math.Sqrt(float64(dh)))
	hw := c.Heads
	for l := 0; l < c.Layers; l++ {
		if !train {
			m.evalBlock(ck, l, scale)
			continue
		}
		pre := fmt.Sprintf("blocks.%d.", l)
		hin, hm, hout := m.h[l], m.hm[l], m.h[l+1]
		ck.do(dev.LayerNorm(hin, m.w(pre+"ln1.weight"), m.w(pre+"ln1.bias"), 1e-5, m.a1[l], m.m1[l], m.r1[l]))
		wqkv, bqkv := m.qkvParams(l, false)
		ck.do(dev.Linear(m.a1[l], wqkv, bqkv, kernels.NoAct, 0, m.qkv[l]))
		ck.do(dev.HeadsPermute(b, n, 3, hw, dh, false, m.qkv[l], m.qkvh[l]))
		q, k, v := m.heads(m.qkvh[l])
		bh := b * hw
		// S = scale·Q·Kᵀ, masked_fill(mask == 0, -1e9), softmax, dropout, ·V.
		s := m.probs[l].Reshape(bh, n*n)
		ck.do(dev.Gemm(kernels.GemmArgs{TransB: true, M: n, N: n, K: dh, Alpha: scale, Lda: dh, Ldb: dh, Ldc: n,
			Batch: bh, StrideA: int64(n * dh), StrideB: int64(n * dh), StrideC: int64(n * n)}, q, k, m.probs[l]))
		ck.do(dev.BinaryRow(kernels.Mul, s, m.mask.Reshape(n*n), s))
		ck.do(dev.BinaryRow(kernels.Add, s, m.negMask, s))
		ck.do(dev.Softmax(m.probs[l].Reshape(bh*n, n), m.probs[l].Reshape(bh*n, n), false))
		if dropping {
			site++
			ck.do(dev.Dropout(m.probs[l], p, seed, dropOffset(step, site), m.probsD[l]))
		}
		ck.do(dev.Gemm(kernels.GemmArgs{M: n, N: dh, K: n, Alpha: 1, Lda: n, Ldb: dh, Ldc: dh,
			Batch: bh, StrideA: int64(n * n), StrideB: int64(n * dh), StrideC: int64(n * dh)}, m.probsD[l], v, m.oh[l]))
		ck.do(dev.HeadsPermute(b, n, 1, hw, dh, true, m.at[l], m.oh[l]))
		ck.do(dev.Linear(m.at[l], m.w(pre+"attn.out.weight"), m.w(pre+"attn.out.bias"), kernels.NoAct, 0, m.br1[l]))
		ck.do(drop(m.br1[l]))
		ck.do(dev.Binary(kernels.Add, hin, m.br1[l], hm))
		ck.do(dev.LayerNorm(hm, m.w(pre+"ln2.weight"), m.w(pre+"ln2.bias"), 1e-5, m.a2[l], m.m2[l], m.r2[l]))
		ck.do(dev.Linear(m.a2[l], m.w(pre+"ff.0.weight"), m.w(pre+"ff.0.bias"), kernels.ReLU, 0, m.f[l]))
		if dropping {
			site++
			ck.do(dev.Dropout(m.f[l], p, seed, dropOffset(step, site), m.fd[l]))
		}
		ck.do(dev.Linear(m.fd[l], m.w(pre+"ff.1.weight"), m.w(pre+"ff.1.bias"), kernels.NoAct, 0, m.br2[l]))
		ck.do(drop(m.br2[l]))
		ck.do(dev.Binary(kernels.Add, hm, m.br2[l], hout))
		ck.do(dev.LayerNorm(hout, m.w(pre+"norm_out.weight"), m.w(pre+"norm_out.bias"), 1e-5, m.lo, m.mo[l], m.ro[l]))
		ck.do(dev.Copy2D(r, d, m.lo, d, 0, m.cat, c.Layers*d, l*d))
	}
	in := m.cat
	for i := range m.z {
		wn, bn := fmt.Sprintf("readout.%d.weight", i), fmt.Sprintf("readout.%d.bias", i)
		last := i == len(m.z)-1
		switch {
		case last:
			ck.do(dev.Linear(in, m.w(wn), m.w(bn), kernels.NoAct, 0, m.y[i]))
		case train:
			ck.do(dev.Linear(in, m.w(wn), m.w(bn), kernels.NoAct, 0, m.z[i]))
			ck.do(dev.Unary(kernels.ELU, m.z[i], 1, m.y[i]))
		default:
			ck.do(dev.Linear(in, m.w(wn), m.w(bn), kernels.ELU, 1, m.y[i]))
		}
		in = m.y[i]
	}
	return ck.err
}

// evalBlock runs block l in eval mode in place on the node states m.h[0]
// (no dropout, fused attention): the residual branches accumulate into the
// state through the GEMM's beta = 1 with the bias in its epilogue, 11
// launches per block.
func (m *CATE) evalBlock(ck *checker, l int, scale float32) {
	dev, c := m.dev, m.cfg
	d, n, b := c.DModel, c.Nodes, m.B
	r, dh, hw := b*n, d/c.Heads, c.Heads
	pre := fmt.Sprintf("blocks.%d.", l)
	h := m.h[0]
	ck.do(dev.LayerNorm(h, m.w(pre+"ln1.weight"), m.w(pre+"ln1.bias"), 1e-5, m.a1[l], nil, nil))
	wqkv, bqkv := m.qkvParams(l, false)
	ck.do(dev.Linear(m.a1[l], wqkv, bqkv, kernels.NoAct, 0, m.qkv[l]))
	ck.do(dev.HeadsPermute(b, n, 3, hw, dh, false, m.qkv[l], m.qkvh[l]))
	q, k, v := m.heads(m.qkvh[l])
	ck.do(dev.Attention(q, k, v, m.mask, scale, m.oh[l], m.probs[l]))
	ck.do(dev.HeadsPermute(b, n, 1, hw, dh, true, m.at[l], m.oh[l]))
	residual := func(x *dt, in int, wn, bn string) {
		ck.do(dev.Gemm(kernels.GemmArgs{TransB: true, M: r, N: d, K: in, Alpha: 1, Beta: 1, Lda: in, Ldb: in, Ldc: d,
			Epilogue: &kernels.Epilogue{Bias: m.w(bn), Act: kernels.NoAct}}, x, m.w(wn), h))
	}
	residual(m.at[l], d, pre+"attn.out.weight", pre+"attn.out.bias")
	ck.do(dev.LayerNorm(h, m.w(pre+"ln2.weight"), m.w(pre+"ln2.bias"), 1e-5, m.a2[l], nil, nil))
	ck.do(dev.Linear(m.a2[l], m.w(pre+"ff.0.weight"), m.w(pre+"ff.0.bias"), kernels.ReLU, 0, m.f[l]))
	residual(m.f[l], c.DFF, pre+"ff.1.weight", pre+"ff.1.bias")
	ck.do(dev.LayerNorm(h, m.w(pre+"norm_out.weight"), m.w(pre+"norm_out.bias"), 1e-5, m.lo, nil, nil))
	ck.do(dev.Copy2D(r, d, m.lo, d, 0, m.cat, c.Layers*d, l*d))
}

// Score computes the score [B, N, V] of x (flat, B·N·V values) at the time
// inputs sigma [B] in eval mode and copies it into out (B·N·V values).
func (m *CATE) Score(x, sigma, out []float32) error {
	if len(out) != len(x) {
		return fmt.Errorf("gpu: score output has %d values, input %d", len(out), len(x))
	}
	if err := m.setInputs(x, sigma); err != nil {
		return err
	}
	if err := m.evalForward(); err != nil {
		return err
	}
	return m.score.CopyTo(out)
}

// ScoreDevice runs Score's forward on inputs already uploaded with x and
// leaves the score on the device (returned; valid until the next call).
func (m *CATE) ScoreDevice(x, sigma []float32) (*dt, error) {
	if err := m.setInputs(x, sigma); err != nil {
		return nil, err
	}
	if err := m.evalForward(); err != nil {
		return nil, err
	}
	return m.score, nil
}

// checker keeps the first error of a launch sequence.
type checker struct{ err error }

func newChecker() *checker { return &checker{} }

func (c *checker) do(err error) {
	if err != nil && c.err == nil {
		c.err = err
	}
}
