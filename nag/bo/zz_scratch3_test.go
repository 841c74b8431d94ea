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
	"github.com/nagml/nag/nag/diffusion"
	"github.com/nagml/nag/nag/nb201"
)

func TestScratchSteps(t *testing.T) {
	c, _ := assets.ScoreNetNB201()
	m, _ := diffusion.LoadModel(c)
	fmt.Println(m.Config.SDE, m.Step, m.Weights)
	for _, s := range strings.Split(os.Getenv("STEPS"), ",") {
		st, _ := strconv.Atoi(s)
		t0 := time.Now()
		res, err := m.Sample(context.Background(), diffusion.SampleOptions{N: 128, Batch: 128, Steps: st, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		nv := 0
		for _, v := range res.Valid {
			if v {
				nv++
			}
		}
		archs, errs, _ := nb201.DecodeBatch(res.X, nb201.DecodeArgmax)
		na := 0
		u := map[nb201.Arch]bool{}
		for i := range archs {
			if errs[i] == nil {
				na++
				u[archs[i]] = true
			}
		}
		fmt.Printf("steps %d: %.1fs threshold-valid %d/128 argmax-valid %d unique %d\n", st, time.Since(t0).Seconds(), nv, na, len(u))
	}
}
