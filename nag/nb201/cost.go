package nb201

import "fmt"

// Dataset is an NB201 training set as far as the cost formulas need it:
// the input side in pixels and the number of classes.
type Dataset struct {
	Name    string
	Side    int
	Classes int
}

// The three NB201 datasets (names as in the benchmark table's column
// suffixes).
var (
	CIFAR10     = Dataset{Name: "c10", Side: 32, Classes: 10}
	CIFAR100    = Dataset{Name: "c100", Side: 32, Classes: 100}
	ImageNet16  = Dataset{Name: "in16", Side: 16, Classes: 120}
	allDatasets = []Dataset{CIFAR10, CIFAR100, ImageNet16}
)

// DatasetByName returns CIFAR10, CIFAR100 or ImageNet16 for "c10", "c100",
// "in16".
func DatasetByName(name string) (Dataset, error) {
	for _, d := range allDatasets {
		if d.Name == name {
			return d, nil
		}
	}
	return Dataset{}, fmt.Errorf("nb201: unknown dataset %q (want c10, c100 or in16)", name)
}

// Params returns the number of parameters of the full NB201 network with
// this cell (all weights incl. BN affine and classifier bias):
// 72656 + 65·K + 243040·n3 + 28000·n1, where n3/n1 count the 3x3/1x1
// convolutions (data README of nb201.csv.gz). The table's params_* columns
// are this value / 1e6.
func (a Arch) Params(d Dataset) int64 {
	n3, n1 := int64(a.Count(Conv3x3)), int64(a.Count(Conv1x1))
	return 72656 + 65*int64(d.Classes) + 243040*n3 + 28000*n1
}

// FLOPs returns the multiply-accumulates of Conv2d and Linear (+bias) as
// NB201 reports them: 7600·S + 65·K + 34560·S·n3 + 3840·S·n1 with
// S = side². The table's flops_* columns are this value / 1e6.
func (a Arch) FLOPs(d Dataset) int64 {
	n3, n1 := int64(a.Count(Conv3x3)), int64(a.Count(Conv1x1))
	s := int64(d.Side * d.Side)
	return 7600*s + 65*int64(d.Classes) + 34560*s*n3 + 3840*s*n1
}
