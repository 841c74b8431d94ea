package main

import (
	"errors"
	"flag"
	"os"

	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/diffusion"
	"github.com/nagml/nag/nag/predictor"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// accel is the compute device of a command: nil for the CPU, or a CUDA
// device (device_cuda.go, built with -tags cuda).
type accel interface {
	// Name describes the device ("cuda: NVIDIA H100 ...").
	Name() string
	// Scorer returns the score hook of net with attention mask [N, N]; with
	// a predictor (p non-nil: dataset vector ds, normalised adjacencies fwd,
	// bwd) its guided hook for a scale is Guided(scale).
	Scorer(net *gnn.CATE, mask *tensor.Tensor) deviceScorer
	// Trainer returns the accelerator factory of diffusion.TrainOptions.
	Trainer(seed uint64) func(*gnn.CATE, *optimizerT, *tensor.Tensor, int) (diffusion.Accelerator, error)
	// PredictorTrainer returns the accelerator factory of
	// predictor.TrainConfig (train-predictor --device).
	PredictorTrainer() predictor.AccelFactory
	// Bench times the device runners (nag bench --device cuda) and returns
	// a JSON-ready result; with profile, also a table of the device time
	// per kernel of each workload (nag bench --profile).
	Bench(config string, batch, reps int, seed uint64, fullRun, profile bool) (any, string, error)
	// UseVecGemm switches the GEMMs to the k-16 float4-load kernels
	// (nag bench --vec-gemm); GemmLaunches counts launches per GEMM kernel.
	UseVecGemm(on bool) error
	GemmLaunches() map[string]int64
	Close() error
}

type deviceScorer interface {
	ScoreFn() sde.ScoreFn
	SetPredictor(p *gnn.Predictor, ds, fwd, bwd *tensor.Tensor)
	Guided(scale float64, schedule func(t float64) float64) sde.ScoreFn
	Free()
}

// errNoCUDA is returned for --device cuda by a binary built without CUDA.
var errNoCUDA = errors.New("this nag was built without CUDA support; rebuild with `go build -tags cuda ./cmd/nag` " +
	"(needs cuda.h and libcuda to link, see kernels/README.md) and run it on a machine with an NVIDIA GPU and driver")

// addDeviceFlag registers --device (default $NAG_DEVICE, else cpu).
func addDeviceFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("NAG_DEVICE")
	if def == "" {
		def = "cpu"
	}
	return fs.String("device", def, "compute device: cpu, or cuda (a binary built with -tags cuda; env NAG_DEVICE)")
}

// openDevice returns nil for "cpu" and the CUDA device for "cuda".
func openDevice(name string) (accel, error) {
	switch name {
	case "", "cpu":
		return nil, nil
	case "cuda":
		return openCUDA()
	}
	return nil, usageError("--device %q: want cpu or cuda", name)
}
