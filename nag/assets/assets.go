// Package assets embeds nag's default trained models in the binary, so that
// `nag sample` works on a fresh clone with no other files.
//
// scorenet_nb201_small.ckpt (about 270 kB) is a compact score-network
// checkpoint (kind "scorenet", zstd-compressed by the ckpt format): the EMA
// weights of the `small` CATE configuration (64,263 parameters) trained on
// NAS-Bench-201 with --split 0.5 (the paper's novelty protocol: 7,812 of
// the 15,625 cells, split seed 42), its training configuration, and the
// dataset indices of its training cells (for novelty). It was produced with
//
//	nag train-score --space nb201 --config small --split 0.5 --seed 42 --lr 1e-3 --iters 6000 --out run.ckpt
//	nag train-score --export-from run.ckpt --out nag/assets/scorenet_nb201_small.ckpt
//
// (6,000 iterations of batch 256, mean loss of the last 100 iterations
// 0.089; it was run as 3,000 iterations plus a --resume to 6,000, which is
// bit-identical to one run. Sample quality is in the README.)
package assets

import (
	_ "embed"
	"fmt"

	"github.com/nagml/nag/nag/ckpt"
	"github.com/nagml/nag/nag/diffusion"
)

//go:embed scorenet_nb201_small.ckpt
var scoreNetNB201 []byte

// ScoreNetNB201Bytes returns the raw embedded NB201 score-network checkpoint.
func ScoreNetNB201Bytes() []byte { return scoreNetNB201 }

// ScoreNetNB201 decodes the embedded NB201 score-network checkpoint.
func ScoreNetNB201() (*ckpt.Checkpoint, error) {
	c, err := ckpt.ReadBytes(scoreNetNB201, "scorenet")
	if err != nil {
		return nil, fmt.Errorf("assets: scorenet_nb201_small.ckpt: %w", err)
	}
	return c, nil
}

// ScoreModelNB201 loads the embedded NB201 score network as a sampling model.
func ScoreModelNB201() (*diffusion.Model, error) {
	c, err := ScoreNetNB201()
	if err != nil {
		return nil, err
	}
	m, err := diffusion.LoadModel(c)
	if err != nil {
		return nil, fmt.Errorf("assets: scorenet_nb201_small.ckpt: %w", err)
	}
	return m, nil
}
