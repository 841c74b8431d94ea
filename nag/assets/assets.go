// Package assets embeds nag's default trained models in the binary, so that
// `nag sample` works on a fresh clone with no other files.
//
// scorenet_nb201_small.ckpt is a compact score-network checkpoint (kind
// "scorenet", zstd-compressed by the ckpt format): the EMA weights of the
// `small` CATE configuration trained on NAS-Bench-201 with --split 0.5 (the
// paper's novelty protocol), its training configuration, and the dataset
// indices of its 7,812 training cells (for novelty). It was produced with
//
//	nag train-score --space nb201 --config small --split 0.5 --seed 42 --out run.ckpt ...
//	nag train-score --export-from run.ckpt --out nag/assets/scorenet_nb201_small.ckpt
//
// (the exact command and its numbers are in the README).
package assets

import (
	_ "embed"
	"fmt"

	"github.com/nagml/nag/nag/ckpt"
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
