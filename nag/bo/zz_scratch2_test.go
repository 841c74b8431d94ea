//go:build boscratch

package bo

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nagml/nag/nag/assets"
	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/diffusion"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/tensor"
)

func TestScratchGen(t *testing.T) {
	tab, _ := bench201.Load("/work/shared/data/nasbench201/nb201.csv.gz")
	task, _ := NB201Task("c10", "")
	ev, _ := NewTableEvaluator(tab, task)
	c, _ := assets.ScoreNetNB201()
	m, _ := diffusion.LoadModel(c)
	rng := tensor.NewRNG(1)
	h := NewHistory()
	for h.Len() < 30 {
		a, _ := randomUnseen(rng, h.Seen)
		o, _ := ev.Evaluate(context.Background(), a)
		h.Add(Entry{Arch: a, Value: o.Value, Test: o.Test})
	}
	o := DefaultMethodOptions()
	ens, _ := NewGNNEnsemble(o.GNN, nil, nil, rng)
	t0 := time.Now()
	ens.Fit(context.Background(), h.Archs(), h.Values(), rng)
	fmt.Printf("fit %.1fs\n", time.Since(t0).Seconds())
	best := h.Entries[h.Best()].Value
	steps, _ := strconv.Atoi(os.Getenv("STEPS"))
	for _, sc := range strings.Split(os.Getenv("SCALES"), ",") {
		ratio := strings.HasPrefix(sc, "r")
		v, _ := strconv.ParseFloat(strings.TrimPrefix(sc, "r"), 64)
		g := &DiffusionGen{Model: m, Pool: 128, Steps: steps, Scale: v, Ratio: ratio, Decode: os.Getenv("DEC")}
		t0 := time.Now()
		pool, err := g.Generate(context.Background(), GenRequest{History: h, Surrogate: ens, Acq: Acquisition{Kind: AcqUCB, Beta: 0.5}, Best: best}, rng)
		if err != nil {
			t.Fatal(err)
		}
		uniq := map[string]bool{}
		var sum, sumPred float64
		for _, a := range pool {
			uniq[a.String()] = true
			o, _ := ev.Evaluate(context.Background(), a)
			sum += o.Value
		}
		mu, _ := ens.Predict(pool)
		for _, x := range mu {
			sumPred += x
		}
		n := float64(len(pool))
		fmt.Printf("scale %s: %.1fs valid %.3f unique %d meanTrue %.2f meanPred %.2f\n", sc, time.Since(t0).Seconds(), g.Validity(), len(uniq), sum/n, sumPred/n)
	}
	// random baseline
	var sum float64
	for i := 0; i < 1000; i++ {
		o, _ := ev.Evaluate(context.Background(), RandomN1(rng))
		sum += o.Value
	}
	fmt.Printf("random mean %.2f\n", sum/1000)
}

func RandomN1(rng *tensor.RNG) Nb201 {
	a, _ := randomUnseen(rng, func(Nb201) bool { return false })
	return a
}

type Nb201 = nb201.Arch
