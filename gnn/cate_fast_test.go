package gnn

import (
	"os"

	"github.com/nagml/nag/tensor"
	"github.com/nagml/nag/tensor/sgemm"
)

func init() {
	if os.Getenv("FAST") != "" {
		tensor.SetDefault(tensor.NewCPUBackend("sgemm", sgemm.Implementation{}))
	}
}
