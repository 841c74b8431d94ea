package gnn

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/nagml/nag/tensor"
)

// CATEConfig describes a CATE score network (reference §2). It is stored as
// JSON in checkpoints, so a checkpoint rebuilds its own network.
type CATEConfig struct {
	// Nodes is the number of graph nodes N (8 for NB201, 20 for OFA).
	Nodes int `json:"nodes"`
	// Vocab is the number of node types V (the one-hot width and the output width).
	Vocab int `json:"vocab"`
	// Layers is the number of pre-LayerNorm transformer blocks.
	Layers int `json:"layers"`
	// DModel is the width of the node states (also of the time embedding).
	DModel int `json:"d_model"`
	// Heads is the number of attention heads (DModel must be divisible by it).
	Heads int `json:"heads"`
	// DFF is the hidden width of each block's feed-forward layer.
	DFF int `json:"d_ff"`
	// TimeHidden is the hidden width of the time-embedding MLP (256 in the paper).
	TimeHidden int `json:"time_hidden"`
	// MLPHidden lists the hidden widths of the ELU readout MLP
	// (Layers·DModel -> MLPHidden... -> Vocab); [1536, 1536] in the paper.
	MLPHidden []int `json:"mlp_hidden"`
	// Dropout is the dropout rate used in training (embedding, attention
	// weights, residual branches, feed-forward inner layer).
	Dropout float64 `json:"dropout"`
	// PosEnc selects the fixed positional encoding: "cell" (positions
	// 0..N-1, NB201) or "stagewise" (positions 0..StageLen-1 repeated, OFA).
	PosEnc string `json:"pos_enc"`
	// StageLen is the period of the stage-wise encoding (4 for OFA).
	StageLen int `json:"stage_len,omitempty"`
}

// PaperCATEConfig is the reference configuration (configs/tr_scorenet.py):
// 12 layers, d_model 64, 8 heads, d_ff 128, readout 768->1536->1536->V,
// dropout 0.1. For NB201 (8 nodes, 7 types) it has 3,989,575 parameters.
func PaperCATEConfig(nodes, vocab int) CATEConfig {
	return CATEConfig{Nodes: nodes, Vocab: vocab, Layers: 12, DModel: 64, Heads: 8, DFF: 128,
		TimeHidden: 256, MLPHidden: []int{1536, 1536}, Dropout: 0.1, PosEnc: "cell"}
}

// SmallCATEConfig is the CPU default: the same architecture with 3 blocks
// of width 32 (4 heads, d_ff 64), a 128-wide time MLP and a
// 96->128->128->V readout, dropout 0.1. For NB201 it has 64,263 parameters
// and costs about 55 k multiply-adds per node row, 1/30 of the paper
// configuration.
func SmallCATEConfig(nodes, vocab int) CATEConfig {
	return CATEConfig{Nodes: nodes, Vocab: vocab, Layers: 3, DModel: 32, Heads: 4, DFF: 64,
		TimeHidden: 128, MLPHidden: []int{128, 128}, Dropout: 0.1, PosEnc: "cell"}
}

// MediumCATEConfig sits between the two: 4 blocks of width 64 (8 heads of
// 8, as in the paper; d_ff 128), a 256-wide time MLP and a 256->256->256->V
// readout, dropout 0.1. For the OFA space (20 nodes, 9 types) it has about
// 0.3 M parameters, 5 times the small network's cost per node row: a CPU
// budget for spaces whose validity rules the small network learns too slowly.
func MediumCATEConfig(nodes, vocab int) CATEConfig {
	return CATEConfig{Nodes: nodes, Vocab: vocab, Layers: 4, DModel: 64, Heads: 8, DFF: 128,
		TimeHidden: 256, MLPHidden: []int{256, 256}, Dropout: 0.1, PosEnc: "cell"}
}

// CATEPresets names the presets NamedCATEConfig knows.
const CATEPresets = "small, medium or paper"

// NamedCATEConfig returns the preset called name ("small", "medium" or
// "paper").
func NamedCATEConfig(name string, nodes, vocab int) (CATEConfig, error) {
	switch name {
	case "small":
		return SmallCATEConfig(nodes, vocab), nil
	case "medium":
		return MediumCATEConfig(nodes, vocab), nil
	case "paper":
		return PaperCATEConfig(nodes, vocab), nil
	}
	return CATEConfig{}, fmt.Errorf("unknown score-network config %q (want %s)", name, CATEPresets)
}

// Validate reports the first inconsistency in the config.
func (c CATEConfig) Validate() error {
	switch {
	case c.Nodes <= 0:
		return fmt.Errorf("cate config: nodes %d must be positive", c.Nodes)
	case c.Vocab <= 0:
		return fmt.Errorf("cate config: vocab %d must be positive", c.Vocab)
	case c.Layers <= 0:
		return fmt.Errorf("cate config: layers %d must be positive", c.Layers)
	case c.DModel <= 0 || c.DModel%2 != 0:
		return fmt.Errorf("cate config: d_model %d must be positive and even", c.DModel)
	case c.Heads <= 0 || c.DModel%c.Heads != 0:
		return fmt.Errorf("cate config: d_model %d not divisible by heads %d", c.DModel, c.Heads)
	case c.DFF <= 0 || c.TimeHidden <= 0:
		return fmt.Errorf("cate config: d_ff %d and time_hidden %d must be positive", c.DFF, c.TimeHidden)
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("cate config: dropout %g outside [0, 1)", c.Dropout)
	case c.PosEnc != "cell" && c.PosEnc != "stagewise":
		return fmt.Errorf("cate config: pos_enc %q (want cell or stagewise)", c.PosEnc)
	case c.PosEnc == "stagewise" && c.StageLen <= 0:
		return fmt.Errorf("cate config: stagewise encoding needs stage_len > 0")
	}
	for i, h := range c.MLPHidden {
		if h <= 0 {
			return fmt.Errorf("cate config: mlp_hidden[%d] = %d must be positive", i, h)
		}
	}
	return nil
}

// JSON returns the config serialised for a checkpoint header.
func (c CATEConfig) JSON() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // a struct of ints, strings and floats always marshals
	}
	return b
}

// ParseCATEConfig decodes and validates a config stored by JSON.
func ParseCATEConfig(b []byte) (CATEConfig, error) {
	var c CATEConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("cate config: %w", err)
	}
	return c, c.Validate()
}

// CellPositionalEncoding returns the fixed sinusoidal encoding [n, d] of
// positions 0..n-1 with interleaved sin/cos: PE[p,2k] = sin(p/10000^(2k/d)),
// PE[p,2k+1] = cos(p/10000^(2k/d)).
func CellPositionalEncoding(n, d int) *tensor.Tensor {
	pos := make([]int, n)
	for i := range pos {
		pos[i] = i
	}
	return sinusoidTable(pos, d)
}

// StageWisePositionalEncoding returns the encoding [n, d] where node i gets
// position i mod stageLen (the OFA layout: layers 0..3 of every stage).
func StageWisePositionalEncoding(n, d, stageLen int) *tensor.Tensor {
	pos := make([]int, n)
	for i := range pos {
		pos[i] = i % stageLen
	}
	return sinusoidTable(pos, d)
}

func sinusoidTable(pos []int, d int) *tensor.Tensor {
	out := tensor.Zeros(len(pos), d)
	o := out.Data()
	for i, p := range pos {
		for k := 0; 2*k < d; k++ {
			div := math.Pow(10000, float64(2*k)/float64(d))
			o[i*d+2*k] = float32(math.Sin(float64(p) / div))
			if 2*k+1 < d {
				o[i*d+2*k+1] = float32(math.Cos(float64(p) / div))
			}
		}
	}
	return out
}

// TimestepEmbedding returns the sinusoidal embedding [len(t), d] of the
// time inputs (σ(t) for the score network), sin first: with half = d/2 and
// f_k = exp(-k·ln(10000)/(half-1)), row b is [sin(t_b f_0..), cos(t_b f_0..)].
func TimestepEmbedding(t []float32, d int) *tensor.Tensor {
	half := d / 2
	out := tensor.Zeros(len(t), d)
	o := out.Data()
	den := float64(half - 1)
	if den < 1 {
		den = 1
	}
	freq := make([]float64, half)
	for k := range freq {
		freq[k] = math.Exp(-float64(k) * math.Log(10000) / den)
	}
	for b, tv := range t {
		row := o[b*d : (b+1)*d]
		if b > 0 && tv == t[b-1] {
			// Samplers give the whole batch one time: copy the row.
			copy(row, o[(b-1)*d:b*d])
			continue
		}
		for k, f := range freq {
			a := float64(tv) * f
			row[k] = float32(math.Sin(a))
			row[half+k] = float32(math.Cos(a))
		}
	}
	return out
}
