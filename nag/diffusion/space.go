// Package diffusion trains the CATE score network with denoising score
// matching and samples architectures from it (DiffusionNAG's generative
// half, reference §2-§4 and §6).
//
// It works for any search space given as a Space: a list of architectures
// as one-hot node matrices [M, N, V], the fixed attention mask of the graph
// and a decoder from a continuous sample back to an architecture string.
// NB201Space builds the NAS-Bench-201 one.
//
// Training (Train) runs Adam with linear warm-up, global-norm gradient
// clipping and an EMA of the weights, on random mini-batches drawn from the
// training set, with periodic atomic checkpoints that resume bit-identically.
// Sampling (Model.Sample) runs the sde package's predictor-corrector or ODE
// sampler with the EMA weights and decodes with the space's decoder.
package diffusion

import (
	"fmt"

	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/tensor"
)

// Space is what the diffusion model needs to know about a search space.
type Space struct {
	// Name identifies the space in checkpoints ("nb201").
	Name string
	// Nodes and Vocab are the node-matrix dimensions N and V.
	Nodes, Vocab int
	// PosEnc and StageLen select the score network's positional encoding
	// (see gnn.CATEConfig).
	PosEnc   string
	StageLen int
	// Mask is the 0/1 attention mask [N, N] (mask[i][j] = 1: node i attends
	// to node j), used for training and sampling.
	Mask *tensor.Tensor
	// MaskName describes the mask for checkpoints and logs.
	MaskName string
	// Size is the number of architectures in the dataset; Data(i) returns
	// the one-hot node matrix (N·V values in {0, 1}, row-major) of the i-th.
	Size int
	Data func(i int) []float32
	// Decode maps a sample in data space ([0, 1], N·V values) to an
	// architecture string; ok is false when the sample is invalid.
	Decode func(x []float32) (arch string, ok bool)
	// ArchString returns the string of dataset entry i (novelty checks).
	ArchString func(i int) string
}

// NB201Space returns NAS-Bench-201 as a Space: the 15,625 cells in nb201
// Key order (the op code read as a base-5 number; dataset index i is the
// cell nb201.FromKey(i)), the 8x7 one-hot node matrices of reference §1.1,
// the attention mask chosen by g (nb201.DefaultGraphConfig: the reference
// get_adj topology with the raw adjacency as mask, what the reference trains
// with), and the reference decoder: per-element threshold at 0.5, then the
// validity rules of reference §1.4.
func NB201Space(g nb201.GraphConfig) Space {
	adj := g.AttentionMask()
	all := nb201.All()
	return Space{
		Name: "nb201", Nodes: nb201.NumNodes, Vocab: nb201.NumTypes, PosEnc: "cell",
		Mask: adj.Tensor(), MaskName: g.String(),
		Size: len(all),
		Data: func(i int) []float32 {
			x := all[i].OneHot()
			return x.Slice()
		},
		Decode: func(v []float32) (string, bool) {
			x, err := nb201.XFromSlice(v)
			if err != nil {
				return "", false
			}
			a, err := nb201.Decode(x, nb201.DecodeThreshold)
			if err != nil {
				return "", false
			}
			return a.String(), true
		},
		ArchString: func(i int) string { return all[i].String() },
	}
}

// SpaceByName returns the space called name with its default mask. mask
// overrides the NB201 mask mode ("raw" or "closure"; "" = default raw).
func SpaceByName(name, mask string) (Space, error) {
	switch name {
	case "nb201":
		g := nb201.DefaultGraphConfig()
		if mask != "" {
			m, err := nb201.ParseMaskMode(mask)
			if err != nil {
				return Space{}, err
			}
			g.Mask = m
		}
		return NB201Space(g), nil
	}
	return Space{}, fmt.Errorf("unknown search space %q (supported: nb201)", name)
}

// batchData fills dst ([len(idx), N, V]) with the model-space (2x−1) node
// matrices of the dataset entries idx.
func (sp *Space) batchData(dst []float32, idx []int) {
	per := sp.Nodes * sp.Vocab
	for b, i := range idx {
		for j, v := range sp.Data(i) {
			dst[b*per+j] = 2*v - 1
		}
	}
}
