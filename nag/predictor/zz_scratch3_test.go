package predictor

import (
	"os"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/tensor"
	"github.com/nagml/nag/autograd/optim"
)

func TestScratchGrad(t *testing.T) {
	if os.Getenv("SCRATCH3") == "" {
		t.Skip()
	}
	tab := loadTable(t)
	d := semiSynthetic(t, tab, true)
	cfg := smallModelConfig(6)
	cfg.Norm = ComputeNorm(d.Train)
	m, err := NewModel(cfg, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	tp := autograd.NewTape()
	batch := append(append([]Sample{}, d.Train[:32]...), d.Train[700:732]...)
	x, sigma := noisyBatch(m, batch, tensor.NewRNG(2), true)
	y := tensor.Zeros(len(batch))
	for i, s := range batch {
		y.Data()[i] = cfg.Norm.Target(s.Acc)
	}
	c := gnn.Ctx{Tape: tp, Train: true, RNG: tensor.NewRNG(3)}
	ds, _ := batchDatasets(m, c, d, batch)
	t.Logf("ds shape %v", ds.Shape())
	pred := m.Forward(c, autograd.Const(x), sigma, ds)
	loss := tp.MSE(pred, autograd.Const(y))
	tp.Backward(loss)
	for _, p := range m.Net.Params() {
		n := 0.0
		if p.Grad != nil {
			for _, v := range p.Grad.Data() {
				n += float64(v * v)
			}
		}
		t.Logf("%-40s grad^2 %.3e", p.Name, n)
	}
	_ = optim.Config{}
}
