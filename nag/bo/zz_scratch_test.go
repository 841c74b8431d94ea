//go:build boscratch

package bo

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nagml/nag/nag/assets"
	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/diffusion"
)

func TestScratchDiffusion(t *testing.T) {
	tab, err := bench201.Load("/work/shared/data/nasbench201/nb201.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	task, _ := NB201Task("c10", "")
	ev, _ := NewTableEvaluator(tab, task)
	c, err := assets.ScoreNetNB201()
	if err != nil {
		t.Fatal(err)
	}
	m, err := diffusion.LoadModel(c)
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultMethodOptions()
	o.Model = m
	o.Pool = 128
	if v := os.Getenv("POOL"); v != "" {
		o.Pool, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("STEPS"); v != "" {
		o.Steps, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("SCALE"); v != "" {
		o.Scale, _ = strconv.ParseFloat(v, 64)
	}
	name := os.Getenv("METHOD")
	if name == "" {
		name = "diffusionnag"
	}
	budget := 30
	if v := os.Getenv("BUDGET"); v != "" {
		budget, _ = strconv.Atoi(v)
	}
	meth, _, err := NewMethod(name, o, 0)
	if err != nil {
		t.Fatal(err)
	}
	optS, optT := ev.Optima()
	start := time.Now()
	rec, err := Run(context.Background(), meth, ev, task, Config{Budget: budget, Batch: 5, Seed: 0, OptimumSearch: optS, OptimumTest: optT,
		Progress: func(done int, r *Record) {
			fmt.Printf("%3d evals %.1fs inc %.2f timings %+v\n", done, time.Since(start).Seconds(), float64(r.IncumbentTest), r.Timings)
		}})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("stats %v\n", rec.Stats)
	if g, ok := meth.(*BO).Gen.(*DiffusionGen); ok {
		fmt.Printf("validity %.3f\n", g.Validity())
	}
	for _, e := range rec.Evals[10:] {
		fmt.Printf("%s %.2f %.2f\n", e.Arch, e.Value, float64(e.Test))
	}
}
