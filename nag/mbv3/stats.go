package mbv3

import (
	"fmt"
	"io"

	"github.com/nagml/nag/nag/ofa"
)

// Distribution is the frequency of each choice over a set of networks:
// stage depths (per stage and pooled), and kernel sizes and expand ratios
// over active layers.
type Distribution struct {
	N           int
	Depth       [ofa.NumStages][3]float64 // per stage, depth 2/3/4
	DepthAll    [3]float64
	Kernel      [3]float64 // 3/5/7 over active layers
	Expand      [3]float64 // 3/4/6 over active layers
	ActiveLayer float64    // mean number of active layers
}

// NewDistribution returns the choice frequencies of archs.
func NewDistribution(archs []ofa.Arch) Distribution {
	var d Distribution
	d.N = len(archs)
	if d.N == 0 {
		return d
	}
	layers := 0.0
	for _, a := range archs {
		for s, v := range a.D {
			d.Depth[s][v-2]++
			d.DepthAll[v-2]++
		}
		for i := 0; i < ofa.NumLayers; i++ {
			if a.KS[i] == 0 {
				continue
			}
			layers++
			t := ofa.TypeOf(a.KS[i], a.E[i])
			d.Kernel[t/3]++
			d.Expand[t%3]++
		}
	}
	n := float64(d.N)
	for s := range d.Depth {
		for k := range d.Depth[s] {
			d.Depth[s][k] /= n
		}
	}
	for k := 0; k < 3; k++ {
		d.DepthAll[k] /= n * ofa.NumStages
		d.Kernel[k] /= layers
		d.Expand[k] /= layers
	}
	d.ActiveLayer = layers / n
	return d
}

// WriteDistributionTable writes a Markdown table comparing the choice
// frequencies of generated and training networks.
func WriteDistributionTable(w io.Writer, gen, train Distribution) {
	fmt.Fprintf(w, "| choice | generated (n=%d) | training (n=%d) |\n|---|---|---|\n", gen.N, train.N)
	row := func(name string, g, t float64) { fmt.Fprintf(w, "| %s | %.3f | %.3f |\n", name, g, t) }
	for k, v := range ofa.Depths {
		row(fmt.Sprintf("depth %d (all stages)", v), gen.DepthAll[k], train.DepthAll[k])
	}
	for s := 0; s < ofa.NumStages; s++ {
		for k, v := range ofa.Depths {
			row(fmt.Sprintf("stage %d depth %d", s, v), gen.Depth[s][k], train.Depth[s][k])
		}
	}
	for k, v := range ofa.Kernels {
		row(fmt.Sprintf("kernel %d", v), gen.Kernel[k], train.Kernel[k])
	}
	for k, v := range ofa.Expands {
		row(fmt.Sprintf("expand %d", v), gen.Expand[k], train.Expand[k])
	}
	row("active layers (mean)", gen.ActiveLayer, train.ActiveLayer)
}
