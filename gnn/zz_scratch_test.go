package gnn

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/nagml/nag/tensor"
	"gonum.org/v1/gonum/blas"
)

func scratchCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func TestScratchShapes(t *testing.T) {
	rng := tensor.NewRNG(1)
	for _, sh := range [][3]int{{2048, 64, 64}, {2048, 64, 192}, {2048, 64, 128}, {2048, 128, 64}, {2048, 768, 1536}, {2048, 1536, 1536}, {2048, 1536, 7}} {
		x := tensor.RandN(rng, sh[0], sh[1])
		w := tensor.RandN(rng, sh[2], sh[1])
		b := tensor.RandN(rng, sh[2])
		y := tensor.Zeros(sh[0], sh[2])
		reps := int(2e9 / float64(2*sh[0]*sh[1]*sh[2]))
		if reps < 3 {
			reps = 3
		}
		for _, act := range []tensor.Act{tensor.ActNone, tensor.ActELU} {
			tensor.LinearActInto(y, x, w, b, act)
			c0, t0 := scratchCPU(), time.Now()
			for i := 0; i < reps; i++ {
				tensor.LinearActInto(y, x, w, b, act)
			}
			c := (scratchCPU() - c0) / float64(reps)
			wl := time.Since(t0).Seconds() / float64(reps)
			fmt.Printf("%v act %d: %.3f ms CPU %.3f ms wall  %.1f GFLOP/CPU-s\n", sh, act, c*1e3, wl*1e3, 2*float64(sh[0]*sh[1]*sh[2])/c/1e9)
		}
	}
}

func TestScratchFinal(t *testing.T) {
	rng := tensor.NewRNG(1)
	x := tensor.RandN(rng, 2048, 1536)
	w := tensor.RandN(rng, 7, 1536)
	ct := make([]float32, 7*2048)
	be := tensor.Default()
	reps := 50
	c0 := scratchCPU()
	for i := 0; i < reps; i++ {
		be.Sgemm(blas.NoTrans, blas.Trans, 7, 2048, 1536, 1, w.Data(), 1536, x.Data(), 1536, 0, ct, 2048)
	}
	fmt.Printf("transposed final: %.3f ms CPU\n", (scratchCPU()-c0)/float64(reps)*1e3)
	y := tensor.Zeros(2048, 7)
	c0 = scratchCPU()
	for i := 0; i < reps; i++ {
		tensor.LinearActInto(y, x, w, nil, tensor.ActNone)
	}
	fmt.Printf("plain final: %.3f ms CPU\n", (scratchCPU()-c0)/float64(reps)*1e3)
	// dot-product form: 8 accumulators per row.
	c0 = scratchCPU()
	for i := 0; i < reps; i++ {
		xd, wd, yd := x.Data(), w.Data(), y.Data()
		for r := 0; r < 2048; r++ {
			xr := xd[r*1536 : (r+1)*1536]
			for o := 0; o < 7; o++ {
				wr := wd[o*1536 : (o+1)*1536]
				var s0, s1, s2, s3 float32
				for j := 0; j < 1536; j += 4 {
					s0 += xr[j] * wr[j]
					s1 += xr[j+1] * wr[j+1]
					s2 += xr[j+2] * wr[j+2]
					s3 += xr[j+3] * wr[j+3]
				}
				yd[r*7+o] = s0 + s1 + s2 + s3
			}
		}
	}
	fmt.Printf("dot final: %.3f ms CPU\n", (scratchCPU()-c0)/float64(reps)*1e3)
}
