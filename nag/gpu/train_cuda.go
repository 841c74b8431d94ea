//go:build cuda

package gpu

import (
	"fmt"
	"math"

	"github.com/nagml/nag/autograd/optim"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/kernels"
	"github.com/nagml/nag/tensor"
)

// TrainBatch is one denoising-score-matching batch prepared on the host
// exactly as sde.DSMLossAt prepares it: the perturbed inputs xt = mean·x0 +
// std·z, the time inputs cond (σ(t)), the per-sample std and the noise z.
type TrainBatch struct {
	XT, Cond, Std, Z []float32
}

// dsm holds the loss buffers (allocated on first use).
type dsm struct {
	z, res, sq, std, w2, rowSum, out *dt
}

// LossAndGrad runs the training forward pass (dropout from the Philox stream
// (seed, step)), the DSM objective mean_b,i (std_b·s + z)² and the backward
// pass into the parameter gradients (cleared first). It returns the loss and
// the global gradient norm before clipping; both come back in one download.
func (m *CATE) LossAndGrad(tb TrainBatch, seed uint64, step int64) (loss, gradNorm float64, err error) {
	if !m.train {
		return 0, 0, fmt.Errorf("gpu: LossAndGrad on a CATE built for inference")
	}
	dev, c := m.dev, m.cfg
	b := m.B
	per := c.Nodes * c.Vocab
	if len(tb.Std) != b || len(tb.Z) != b*per {
		return 0, 0, fmt.Errorf("gpu: train batch has %d stds and %d noise values for a batch of %d x %d", len(tb.Std), len(tb.Z), b, per)
	}
	if err := m.setInputs(tb.XT, tb.Cond); err != nil {
		return 0, 0, err
	}
	if m.loss == nil {
		if err := m.allocLoss(); err != nil {
			return 0, 0, err
		}
	}
	l := m.loss
	w2 := make([]float32, b)
	n := float64(b * per)
	for i, s := range tb.Std {
		w2[i] = float32(2 * float64(s) / n)
	}
	ck := newChecker()
	ck.do(l.z.CopyFrom(tb.Z))
	ck.do(l.std.CopyFrom(tb.Std))
	ck.do(l.w2.CopyFrom(w2))
	ck.do(m.forward(true, seed, step))
	// res = std_b·s + z ; loss = Σ res² / n ; dS = (2·std_b/n)·res.
	s := m.score.Reshape(b, per)
	ck.do(dev.BinaryCol(kernels.Mul, s, l.std, l.res))
	ck.do(dev.Binary(kernels.Add, l.res, l.z, l.res))
	ck.do(dev.Unary(kernels.Square, l.res, 0, l.sq))
	ck.do(dev.ReduceLast(kernels.ReduceSum, l.sq, l.rowSum))
	ck.do(dev.ReduceLast(kernels.ReduceSum, l.rowSum.Reshape(1, b), l.out.Rows(0, 1)))
	ck.do(dev.BinaryCol(kernels.Mul, l.res, l.w2, m.dScore.Reshape(b, per)))
	ck.do(m.ps.ZeroGrad())
	ck.do(m.backward(seed, step))
	// Global gradient norm: squares into a zero-padded buffer, two row sums.
	ck.do(dev.Unary(kernels.Square, m.ps.Grads, 0, m.sq.Rows(0, m.ps.Len())))
	ck.do(dev.ReduceLast(kernels.ReduceSum, m.sq.Reshape(m.part.Len(), 1024), m.part))
	ck.do(dev.ReduceLast(kernels.ReduceSum, m.part.Reshape(1, m.part.Len()), l.out.Rows(1, 2)))
	if ck.err != nil {
		return 0, 0, ck.err
	}
	var host [2]float32
	if err := l.out.CopyTo(host[:]); err != nil {
		return 0, 0, err
	}
	return float64(host[0]) / n, math.Sqrt(float64(host[1])), nil
}

func (m *CATE) allocLoss() error {
	c := m.cfg
	b, per := m.B, m.cfg.Nodes*c.Vocab
	l := &dsm{}
	mk := m.mem.empty
	l.z, l.res, l.sq = mk(b, per), mk(b, per), mk(b, per)
	l.std, l.w2, l.rowSum, l.out = mk(b), mk(b), mk(b), mk(2, 1)
	if m.mem.err != nil {
		return m.mem.err
	}
	// The padding of the squared-gradient buffer stays zero.
	if err := m.dev.Fill(m.sq, 0); err != nil {
		return err
	}
	m.loss = l
	return nil
}

// ApplyStep clips the gradients to cfg.GradClip (given their norm, as
// optim.ClipGradNorm) and applies one fused Adam + EMA step with the
// warm-up learning rate of cfg for the set's step count, exactly as
// optim.Optimizer.Step. A non-finite norm changes nothing and returns an
// error wrapping optim.ErrNonFinite.
func (m *CATE) ApplyStep(cfg optim.Config, gradNorm float64) error {
	if math.IsNaN(gradNorm) || math.IsInf(gradNorm, 0) {
		return fmt.Errorf("step %d: optim: %w (%v)", m.ps.Steps, optim.ErrNonFinite, gradNorm)
	}
	if cfg.GradClip > 0 {
		if coef := cfg.GradClip / (gradNorm + 1e-6); coef < 1 {
			if err := m.dev.BinaryScalar(kernels.Mul, m.ps.Grads, float32(coef), m.ps.Grads); err != nil {
				return err
			}
		}
	}
	lr := optim.WarmupLR(cfg.LR, m.ps.Steps, cfg.Warmup)
	ema := cfg.EMADecay
	if m.ps.Shadow == nil {
		ema = 0
	}
	return m.ps.Step(lr, cfg.Beta1, cfg.Beta2, cfg.Eps, cfg.WeightDecay, ema)
}

// backward propagates m.dScore through the network saved by the last
// training forward, accumulating into the parameter gradients.
func (m *CATE) backward(seed uint64, step int64) error {
	dev, c := m.dev, m.cfg
	d, n, b := c.DModel, c.Nodes, m.B
	r := b * n
	dh := d / c.Heads
	hw := c.Heads
	bh := b * hw
	p := float32(c.Dropout)
	dropping := p > 0
	ck := newChecker()
	lb := func(x, w, gout, dx *dt, wname, bname string) {
		var dw, db *dt
		if wname != "" {
			dw = m.g(wname)
		}
		if bname != "" {
			db = m.g(bname)
		}
		ck.do(dev.LinearBackward(x, w, gout, dx, dw, db, m.dbTmp.Rows(0, gout.Dim(len(gout.Shape())-1))))
	}
	// Readout MLP.
	last := len(m.z) - 1
	gout := m.dScore
	for i := last; i >= 0; i-- {
		wn, bn := fmt.Sprintf("readout.%d.weight", i), fmt.Sprintf("readout.%d.bias", i)
		in, dIn := m.cat, m.dCat
		if i > 0 {
			in, dIn = m.y[i-1], m.dY[i-1]
		}
		lb(in, m.w(wn), gout, dIn, wn, bn)
		if i > 0 {
			ck.do(dev.UnaryGrad(kernels.ELU, m.z[i-1], m.dY[i-1], 1, m.dZ[i-1]))
			gout = m.dZ[i-1]
		}
	}
	// Sites are numbered in forward order: 1 = embedding, then per block
	// 1 attention weights, 2 attention-out branch, 3 feed-forward inner,
	// 4 feed-forward branch.
	siteOf := func(l, k int) int { return 1 + 4*l + k }
	undrop := func(x *dt, l, k int) {
		if dropping {
			ck.do(dev.Dropout(x, p, seed, dropOffset(step, siteOf(l, k)), x))
		}
	}
	ck.do(dev.Fill(m.dH, 0))
	scale := float32(1 / math.Sqrt(float64(dh)))
	for l := c.Layers - 1; l >= 0; l-- {
		pre := fmt.Sprintf("blocks.%d.", l)
		// o_l = LN(h_{l+1}).
		ck.do(dev.Copy2D(r, d, m.dCat, c.Layers*d, l*d, m.dLO, d, 0))
		ck.do(dev.LayerNormBackward(m.dLO, m.h[l+1], m.w(pre+"norm_out.weight"), m.mo[l], m.ro[l], m.dTmp,
			m.g(pre+"norm_out.weight"), m.g(pre+"norm_out.bias")))
		ck.do(dev.Binary(kernels.Add, m.dH, m.dTmp, m.dH))
		// h_{l+1} = hm + drop(ff2(drop(relu(ff1(LN2(hm)))))).
		ck.do(dev.Axpby(1, m.dH, 0, m.dH, m.dBR))
		undrop(m.dBR, l, 4)
		lb(m.fd[l], m.w(pre+"ff.1.weight"), m.dBR, m.dF, pre+"ff.1.weight", pre+"ff.1.bias")
		undrop(m.dF, l, 3)
		ck.do(dev.UnaryGrad(kernels.ReLU, m.f[l], m.dF, 0, m.dF))
		lb(m.a2[l], m.w(pre+"ff.0.weight"), m.dF, m.dTmp, pre+"ff.0.weight", pre+"ff.0.bias")
		ck.do(dev.LayerNormBackward(m.dTmp, m.hm[l], m.w(pre+"ln2.weight"), m.m2[l], m.r2[l], m.dAT,
			m.g(pre+"ln2.weight"), m.g(pre+"ln2.bias")))
		ck.do(dev.Binary(kernels.Add, m.dH, m.dAT, m.dH))
		// hm = h_l + drop(out(attn(LN1(h_l)))).
		ck.do(dev.Axpby(1, m.dH, 0, m.dH, m.dBR))
		undrop(m.dBR, l, 2)
		lb(m.at[l], m.w(pre+"attn.out.weight"), m.dBR, m.dAT, pre+"attn.out.weight", pre+"attn.out.bias")
		ck.do(dev.HeadsPermute(b, n, 1, hw, dh, false, m.dAT, m.dOh))
		q, k, v := m.heads(m.qkvh[l])
		dq, dk, dv := m.heads(m.dQKVh)
		// dPD = dO·Vᵀ ; dV = PDᵀ·dO.
		ck.do(dev.Gemm(kernels.GemmArgs{TransB: true, M: n, N: n, K: dh, Alpha: 1, Lda: dh, Ldb: dh, Ldc: n,
			Batch: bh, StrideA: int64(n * dh), StrideB: int64(n * dh), StrideC: int64(n * n)}, m.dOh, v, m.dP))
		ck.do(dev.Gemm(kernels.GemmArgs{TransA: true, M: n, N: dh, K: n, Alpha: 1, Lda: n, Ldb: dh, Ldc: dh,
			Batch: bh, StrideA: int64(n * n), StrideB: int64(n * dh), StrideC: int64(n * dh)}, m.probsD[l], m.dOh, dv))
		undrop(m.dP, l, 1)
		sm := m.dP.Reshape(bh*n, n)
		ck.do(dev.SoftmaxGrad(m.probs[l].Reshape(bh*n, n), sm, sm, false))
		ck.do(dev.BinaryRow(kernels.Mul, m.dP.Reshape(bh, n*n), m.mask.Reshape(n*n), m.dP.Reshape(bh, n*n)))
		// dQ = scale·dS·K ; dK = scale·dSᵀ·Q.
		ck.do(dev.Gemm(kernels.GemmArgs{M: n, N: dh, K: n, Alpha: scale, Lda: n, Ldb: dh, Ldc: dh,
			Batch: bh, StrideA: int64(n * n), StrideB: int64(n * dh), StrideC: int64(n * dh)}, m.dP, k, dq))
		ck.do(dev.Gemm(kernels.GemmArgs{TransA: true, M: n, N: dh, K: n, Alpha: scale, Lda: n, Ldb: dh, Ldc: dh,
			Batch: bh, StrideA: int64(n * n), StrideB: int64(n * dh), StrideC: int64(n * dh)}, m.dP, q, dk))
		ck.do(dev.HeadsPermute(b, n, 3, hw, dh, true, m.dQKV, m.dQKVh))
		wqkv, _ := m.qkvParams(l, false)
		gw, gb := m.qkvParams(l, true)
		ck.do(dev.LinearBackward(m.a1[l], wqkv, m.dQKV, m.dTmp, gw, gb, m.dbTmp.Rows(0, 3*d)))
		ck.do(dev.LayerNormBackward(m.dTmp, m.h[l], m.w(pre+"ln1.weight"), m.m1[l], m.r1[l], m.dAT,
			m.g(pre+"ln1.weight"), m.g(pre+"ln1.bias")))
		ck.do(dev.Binary(kernels.Add, m.dH, m.dAT, m.dH))
	}
	// h_0 = drop(√d·embed(x)) + PE + time(σ) broadcast over nodes.
	ck.do(dev.ReduceMid(kernels.ReduceSum, m.dH, b, n, d, m.dtOut))
	lb(m.tH, m.w("time.2.weight"), m.dtOut, m.dtH, "time.2.weight", "time.2.bias")
	ck.do(dev.UnaryGrad(kernels.SiLU, m.tz, m.dtH, 0, m.dtz))
	lb(m.temb, m.w("time.0.weight"), m.dtz, nil, "time.0.weight", "time.0.bias")
	if dropping {
		ck.do(dev.Dropout(m.dH, p, seed, dropOffset(step, 1), m.dH))
	}
	ck.do(dev.BinaryScalar(kernels.Mul, m.dH, float32(math.Sqrt(float64(d))), m.dH))
	lb(m.x, m.w("embed.weight"), m.dH, nil, "embed.weight", "embed.bias")
	return ck.err
}

// LoadOptimState uploads an optimiser's state (Adam moments, EMA shadow,
// counters) into the device set, e.g. when resuming from a checkpoint. The
// optimiser must track the model's parameters.
func (m *CATE) LoadOptimState(o *optim.Optimizer) error {
	host, err := m.stateHost(o)
	if err != nil {
		return err
	}
	for _, x := range []struct {
		buf  *dt
		data []float32
	}{{m.ps.M, host.m}, {m.ps.V, host.v}} {
		if err := x.buf.CopyFrom(x.data); err != nil {
			return err
		}
	}
	if m.ps.Shadow != nil && host.ema != nil {
		if err := m.ps.Shadow.CopyFrom(host.ema); err != nil {
			return err
		}
	}
	s := o.State()
	m.ps.Steps, m.ps.EMAUpdates = s.Steps, s.EMAUpdates
	return nil
}

type flatState struct{ m, v, ema []float32 }

// stateHost flattens o's state in device order.
func (m *CATE) stateHost(o *optim.Optimizer) (*flatState, error) {
	s := o.State()
	byName := map[string]*tensor.Tensor{}
	for _, nt := range s.Tensors {
		byName[nt.Name] = nt.Tensor
	}
	f := &flatState{m: make([]float32, m.ps.Len()), v: make([]float32, m.ps.Len())}
	if o.EMA() != nil {
		f.ema = make([]float32, m.ps.Len())
	}
	for i, p := range m.order {
		off := m.ps.Offsets[i]
		for _, x := range []struct {
			name string
			dst  []float32
		}{{"adam.m." + p.Name, f.m}, {"adam.v." + p.Name, f.v}, {"ema." + p.Name, f.ema}} {
			if x.dst == nil {
				continue
			}
			t, ok := byName[x.name]
			if !ok {
				return nil, fmt.Errorf("gpu: optimiser state lacks %q", x.name)
			}
			copy(x.dst[off:off+p.Value.Len()], t.Contiguous().Data())
		}
	}
	return f, nil
}

// SyncTo downloads the live weights into the host model and the Adam
// moments, EMA shadow and counters into o, so that the host side can write
// a checkpoint (or continue on the CPU) exactly where the device is.
func (m *CATE) SyncTo(o *optim.Optimizer) error {
	if err := m.ps.CopyTo(m.order, false); err != nil {
		return err
	}
	all := make([]float32, m.ps.Len())
	s := o.State()
	st := optim.State{Steps: m.ps.Steps, EMAUpdates: m.ps.EMAUpdates}
	byName := map[string]*tensor.Tensor{}
	for _, nt := range s.Tensors {
		byName[nt.Name] = nt.Tensor
	}
	for _, x := range []struct {
		buf    *dt
		prefix string
	}{{m.ps.M, "adam.m."}, {m.ps.V, "adam.v."}, {m.ps.Shadow, "ema."}} {
		if x.buf == nil {
			continue
		}
		if err := x.buf.CopyTo(all); err != nil {
			return err
		}
		for i, p := range m.order {
			t, ok := byName[x.prefix+p.Name]
			if !ok {
				if x.prefix == "ema." {
					break // optimiser without EMA
				}
				return fmt.Errorf("gpu: optimiser state lacks %q", x.prefix+p.Name)
			}
			nt := tensor.FromSlice(append([]float32(nil), all[m.ps.Offsets[i]:m.ps.Offsets[i]+p.Value.Len()]...), t.Shape()...)
			st.Tensors = append(st.Tensors, optim.NamedTensor{Name: x.prefix + p.Name, Tensor: nt})
		}
	}
	if o.EMA() == nil {
		st.EMAUpdates = 0
	}
	return o.LoadState(st)
}

// Trainer adapts a device CATE to diffusion.Accelerator: each Step is
// LossAndGrad + ApplyStep with the optimiser's configuration; dropout draws
// from the Philox stream (seed, iteration).
type Trainer struct {
	m    *CATE
	o    *optim.Optimizer
	seed uint64
}

// NewTrainer uploads net and o's state (Adam moments, EMA shadow, counters:
// a resumed run continues exactly) for batches of b graphs with the
// attention mask [N, N].
func NewTrainer(dev *kernels.Device, net *gnn.CATE, o *optim.Optimizer, mask *tensor.Tensor, b int, seed uint64) (*Trainer, error) {
	m, err := NewCATE(dev, net, b, true)
	if err != nil {
		return nil, err
	}
	if err := m.SetMask(mask); err != nil {
		m.Free()
		return nil, err
	}
	if err := m.LoadOptimState(o); err != nil {
		m.Free()
		return nil, err
	}
	return &Trainer{m: m, o: o, seed: seed}, nil
}

// Step implements diffusion.Accelerator.
func (t *Trainer) Step(xt, cond, std, z []float32, step int64) (float64, float64, error) {
	loss, norm, err := t.m.LossAndGrad(TrainBatch{XT: xt, Cond: cond, Std: std, Z: z}, t.seed, step)
	if err != nil {
		return 0, 0, err
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, norm, nil // the caller reports the divergence
	}
	return loss, norm, t.m.ApplyStep(t.o.Config(), norm)
}

// Sync implements diffusion.Accelerator.
func (t *Trainer) Sync() error { return t.m.SyncTo(t.o) }

// Close implements diffusion.Accelerator.
func (t *Trainer) Close() { t.m.Free() }
