package diffusion

import (
	"encoding/json"
	"fmt"

	"github.com/nagml/nag/autograd/optim"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/sde"
)

// CheckpointKind is the kind written into score-network checkpoints.
const CheckpointKind = "scorenet"

// Entry names used in score-network checkpoints besides the parameters and
// optimiser state of the ckpt package.
const (
	// EntryTrainIndices holds the dataset indices of the training set
	// (for NB201: nb201 Keys, see NB201Space).
	EntryTrainIndices = "train_indices"
)

// Default training hyper-parameters for a CPU run. The reference uses lr
// 2e-5 for 250k iterations (reference §6); a run of a few thousand
// iterations needs a larger rate.
const (
	DefaultLR     = 1e-3
	DefaultWarmup = 500
	DefaultBatch  = 256
	// DefaultIters is what the embedded small NB201 checkpoint was trained
	// for (about 30 minutes on a busy 2-core machine).
	DefaultIters = 6000
)

// Config is everything that defines a training run; it is stored as the
// checkpoint's JSON config.
type Config struct {
	// Space names the search space ("nb201"); Mask describes its attention
	// mask (e.g. "reference/raw").
	Space string `json:"space"`
	Mask  string `json:"mask"`
	// Preset is the name the model config came from ("small", "paper"), for logs.
	Preset string         `json:"preset,omitempty"`
	Model  gnn.CATEConfig `json:"model"`
	SDE    sde.Config     `json:"sde"`
	Optim  optim.Config   `json:"optim"`
	// Batch is the mini-batch size; Iters the total number of iterations.
	Batch int `json:"batch"`
	Iters int `json:"iters"`
	// Split is the fraction of the space used for training (1 = all);
	// SplitSeed seeds the random choice of the training set.
	Split     float64 `json:"split"`
	SplitSeed uint64  `json:"split_seed"`
	// MaxLoss stops training when the loss exceeds it (exploding); 0 uses
	// DefaultMaxLoss.
	MaxLoss float64 `json:"max_loss,omitempty"`
}

// DefaultMaxLoss is the loss above which training is declared diverged. The
// DSM loss of an untrained network is about 1 (it is a mean of (σ·s + z)²
// with s ≈ 0), so 1e4 only triggers on a real blow-up.
const DefaultMaxLoss = 1e4

// NewConfig returns the default run configuration for a space and a model
// preset ("small", "medium" or "paper"): VE-SDE σ 0.1..5 (N 1000), Adam with lr
// DefaultLR, DefaultWarmup warm-up steps, clipping at 1 and EMA 0.9999,
// batch 256, DefaultIters iterations, all of the space.
func NewConfig(sp Space, preset string) (Config, error) {
	m, err := gnn.NamedCATEConfig(preset, sp.Nodes, sp.Vocab)
	if err != nil {
		return Config{}, err
	}
	m.PosEnc, m.StageLen = sp.PosEnc, sp.StageLen
	o := optim.DefaultConfig()
	o.LR, o.Warmup = DefaultLR, DefaultWarmup
	return Config{Space: sp.Name, Mask: sp.MaskName, Preset: preset, Model: m, SDE: sde.DefaultVEConfig(),
		Optim: o, Batch: DefaultBatch, Iters: DefaultIters, Split: 1}, nil
}

// Validate checks the run configuration.
func (c Config) Validate() error {
	if err := c.Model.Validate(); err != nil {
		return err
	}
	if _, err := sde.New(c.SDE); err != nil {
		return err
	}
	if err := c.Optim.Validate(); err != nil {
		return err
	}
	switch {
	case c.Batch < 1:
		return fmt.Errorf("batch size %d must be >= 1", c.Batch)
	case c.Iters < 0:
		return fmt.Errorf("iterations %d must be >= 0", c.Iters)
	case !(c.Split > 0 && c.Split <= 1):
		return fmt.Errorf("split %g must be in (0, 1]", c.Split)
	case c.MaxLoss < 0:
		return fmt.Errorf("max loss %g must be >= 0", c.MaxLoss)
	}
	return nil
}

func (c Config) json() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("diffusion: marshal config: %v", err))
	}
	return b
}

func parseConfig(b []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("score-network config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("score-network config: %w", err)
	}
	return c, nil
}
