package mbv3

import (
	_ "embed"
	"fmt"

	"github.com/nagml/nag/nag/ckpt"
	"github.com/nagml/nag/nag/diffusion"
)

//go:embed models/scorenet_mbv3_small.ckpt
var defaultScoreNet []byte

// DefaultScoreModel returns the embedded OFA score network (see
// models/README.md): the small CATE trained 80,000 iterations on 100,000
// networks from OFA's sampler with the stage mask.
func DefaultScoreModel() (*diffusion.Model, error) {
	c, err := ckpt.ReadBytes(defaultScoreNet, diffusion.CheckpointKind)
	if err != nil {
		return nil, fmt.Errorf("embedded OFA score network: %w", err)
	}
	m, err := ScoreModel(c)
	if err != nil {
		return nil, fmt.Errorf("embedded OFA score network: %w", err)
	}
	return m, nil
}

// LoadScoreModelOrDefault loads path, or the embedded model for "" and
// "default".
func LoadScoreModelOrDefault(path string) (*diffusion.Model, error) {
	if path == "" || path == "default" {
		return DefaultScoreModel()
	}
	return LoadScoreModel(path)
}
