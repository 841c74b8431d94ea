// Package predictor trains and evaluates DiffusionNAG's noise-aware
// meta-predictor (reference §5) on NAS-Bench-201 cells: a gnn.Predictor
// that maps a noisy architecture x_t = x_s + σ(t)·z, the noise level σ(t)
// and a dataset encoding to the architecture's accuracy on that dataset.
//
// Targets are normalised as in the reference: y = ((acc − mean)/std)/100,
// with mean and std over the training accuracies (in %). The transform is
// stored in the checkpoint, so predictions map back to accuracies with
// acc = 100·y·std + mean (Model.Acc).
//
// Data come from three sources, all turned into a Data value:
//   - LoadOfficial: the official meta-training labels of DiffusionNAG
//     (meta_train_tasks_predictor.pt etc., ImageNet-32 subsets, no dataset
//     features available offline), with the official 400-entry eval split;
//   - LoadTable: one metric column of the NB201 benchmark table;
//   - ReadTaskFile: our own JSON task format (see TaskFileFormat), where a
//     task may carry dataset features (nag/encoder's dataset-features format).
//
// Tasks without features use the predictor's learned "unknown dataset"
// vector.
package predictor

import (
	"fmt"
	"math"

	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/metatrain"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/tensor"
)

// Sample is one labelled architecture of a task.
type Sample struct {
	Arch nb201.Arch
	Acc  float64 // accuracy in percent
	Task int     // index into Data.Tasks
}

// Task is one dataset the accuracies were measured on.
type Task struct {
	Name string
	// Feats are the per-class sample features [classes, per_class, dim], or
	// nil when the task has no dataset features.
	Feats *tensor.Tensor
}

// Data is a meta-training set: tasks and labelled samples split into
// training and held-out evaluation samples.
type Data struct {
	Source string // description for logs and checkpoint metadata
	Tasks  []Task
	Train  []Sample
	Eval   []Sample
}

// FeatDim returns the feature width shared by all tasks with features, 0
// when no task has features, or an error when widths differ.
func (d *Data) FeatDim() (int, error) {
	dim := 0
	for _, t := range d.Tasks {
		if t.Feats == nil {
			continue
		}
		w := t.Feats.Dim(2)
		if dim != 0 && w != dim {
			return 0, fmt.Errorf("tasks have different feature widths (%d and %d)", dim, w)
		}
		dim = w
	}
	return dim, nil
}

// TasksWithFeatures counts the tasks that have dataset features.
func (d *Data) TasksWithFeatures() int {
	n := 0
	for _, t := range d.Tasks {
		if t.Feats != nil {
			n++
		}
	}
	return n
}

// Validate checks that the set can be trained on: non-empty training
// split, finite accuracies with a positive spread, task indices in range.
func (d *Data) Validate() error {
	if len(d.Train) < 2 {
		return fmt.Errorf("%s: %d training samples, need at least 2", d.Source, len(d.Train))
	}
	for _, split := range [][]Sample{d.Train, d.Eval} {
		for i, s := range split {
			if s.Task < 0 || s.Task >= len(d.Tasks) {
				return fmt.Errorf("%s: sample %d: task %d out of range (%d tasks)", d.Source, i, s.Task, len(d.Tasks))
			}
			if math.IsNaN(s.Acc) || math.IsInf(s.Acc, 0) {
				return fmt.Errorf("%s: sample %d (%s): accuracy is not finite", d.Source, i, s.Arch)
			}
		}
	}
	if _, err := d.FeatDim(); err != nil {
		return fmt.Errorf("%s: %w", d.Source, err)
	}
	n := ComputeNorm(d.Train)
	if !(n.Std > 0) {
		return fmt.Errorf("%s: all training accuracies are equal (%g); nothing to learn", d.Source, n.Mean)
	}
	return nil
}

// LoadOfficial reads the official DiffusionNAG meta-training labels from dir
// (meta_train_tasks_predictor.pt, meta_train_task_lst.pt,
// meta_train_tasks_predictor_idx.pt, ridx.pt): 4,630 entries on ImageNet-32
// subsets, the first 400 of the index permutation held out for evaluation
// as in the reference. The tasks' image features are not available
// offline, so every task has Feats == nil (unknown-dataset vector).
func LoadOfficial(dir string) (*Data, error) {
	md, err := metatrain.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("official meta-training data: %w", err)
	}
	d := &Data{Source: "official ImageNet-32 meta-training labels (" + dir + ")"}
	taskIdx := map[int]int{}
	conv := func(ids []int) []Sample {
		out := make([]Sample, len(ids))
		for k, i := range ids {
			e := md.Entries[i]
			ti, ok := taskIdx[e.Task]
			if !ok {
				ti = len(d.Tasks)
				taskIdx[e.Task] = ti
				d.Tasks = append(d.Tasks, Task{Name: fmt.Sprintf("imagenet32-task-%d", e.Task)})
			}
			out[k] = Sample{Arch: e.Arch, Acc: e.Acc, Task: ti}
		}
		return out
	}
	train, eval := md.Split()
	d.Train = conv(train)
	d.Eval = conv(eval)
	return d, d.Validate()
}

// LoadTable takes one metric column of the NB201 table as a single task
// without features. evalFrac of the 15,625 cells (shuffled with seed) are
// held out; max > 0 limits the number of training cells.
func LoadTable(t *bench201.Table, column string, evalFrac float64, max int, seed uint64) (*Data, error) {
	if !t.HasColumn(column) {
		return nil, fmt.Errorf("table %s: no column %q", t.Path(), column)
	}
	if !(evalFrac >= 0 && evalFrac < 1) {
		return nil, fmt.Errorf("eval fraction %g outside [0, 1)", evalFrac)
	}
	vals, err := t.Column(column)
	if err != nil {
		return nil, err
	}
	d := &Data{Source: fmt.Sprintf("NB201 table column %s", column), Tasks: []Task{{Name: "nb201:" + column}}}
	perm := tensor.NewRNG(seed).Perm(t.Len())
	nEval := int(evalFrac * float64(t.Len()))
	for k, i := range perm {
		s := Sample{Arch: t.Arch(i), Acc: vals[i]}
		if k < nEval {
			d.Eval = append(d.Eval, s)
		} else if max <= 0 || len(d.Train) < max {
			d.Train = append(d.Train, s)
		}
	}
	return d, d.Validate()
}
