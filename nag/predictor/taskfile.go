package predictor

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/nagml/nag/nag/encoder"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/tensor"
)

// TaskFileFormat is the format tag of a predictor task file.
const TaskFileFormat = "nag-predictor-tasks/1"

// TaskFile is our own meta-training task format: JSON (gzip-compressed
// when the content starts with the gzip magic), one object:
//
//	{
//	  "format": "nag-predictor-tasks/1",
//	  "tasks": [
//	    {"name": "cifar10-subset-3",
//	     "split": "train",                           // "train" (default) or "eval"
//	     "features_file": "c10s3.features.json.gz",  // optional, relative to this file
//	     "features": { ... },                        // optional, inline instead of features_file
//	     "archs": [{"arch": "|nor_conv_3x3~0|+|...|", "acc": 93.1}, ...]}
//	  ]
//	}
//
// Dataset features use nag/encoder's "nag-dataset-features/1" format (the
// output of `nag encode-dataset`). A task without features is trained
// with the predictor's learned unknown-dataset vector. All tasks with
// features must have the same feature width. When no task is marked
// "eval", a random fraction of all samples is held out instead.
type TaskFile struct {
	Format string      `json:"format"`
	Tasks  []TaskEntry `json:"tasks"`
}

// TaskEntry is one task of a TaskFile.
type TaskEntry struct {
	Name         string                   `json:"name"`
	Split        string                   `json:"split,omitempty"`
	FeaturesFile string                   `json:"features_file,omitempty"`
	Features     *encoder.DatasetFeatures `json:"features,omitempty"`
	Archs        []ArchAcc                `json:"archs"`
}

// ArchAcc is one labelled architecture.
type ArchAcc struct {
	Arch string  `json:"arch"`
	Acc  float64 `json:"acc"`
}

// WriteTaskFile writes f as indented JSON (gzip when path ends in ".gz").
func WriteTaskFile(path string, f *TaskFile) error {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("write task file %s: %w", path, err)
	}
	if strings.HasSuffix(path, ".gz") {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		if err := zw.Close(); err != nil {
			return fmt.Errorf("write task file %s: %w", path, err)
		}
		b = buf.Bytes()
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write task file: %w", err)
	}
	return nil
}

// ReadTaskFile reads a task file and builds the training set. Samples of
// tasks marked "eval" form the evaluation split; if there are none, evalFrac
// of the samples (shuffled with seed) are held out.
func ReadTaskFile(path string, evalFrac float64, seed uint64) (*Data, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read task file: %w", err)
	}
	d, err := DecodeTaskFile(raw, filepath.Dir(path), evalFrac, seed)
	if err != nil {
		return nil, fmt.Errorf("task file %s: %w", path, err)
	}
	d.Source = "task file " + path
	return d, nil
}

// DecodeTaskFile is ReadTaskFile on bytes; relative features_file paths
// are resolved against dir.
func DecodeTaskFile(raw []byte, dir string, evalFrac float64, seed uint64) (*Data, error) {
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
	}
	var f TaskFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("JSON: %w", err)
	}
	if f.Format != TaskFileFormat {
		return nil, fmt.Errorf("format %q, want %q", f.Format, TaskFileFormat)
	}
	if !(evalFrac >= 0 && evalFrac < 1) {
		return nil, fmt.Errorf("eval fraction %g outside [0, 1)", evalFrac)
	}
	if len(f.Tasks) == 0 {
		return nil, fmt.Errorf("no tasks")
	}
	d := &Data{Source: "task file"}
	var all []Sample
	anyEval := false
	for ti, te := range f.Tasks {
		name := te.Name
		if name == "" {
			name = fmt.Sprintf("task-%d", ti)
		}
		task := Task{Name: name}
		feats := te.Features
		if te.FeaturesFile != "" {
			if feats != nil {
				return nil, fmt.Errorf("task %d (%s): both features and features_file given", ti, name)
			}
			p := te.FeaturesFile
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			if feats, err := encoder.ReadDatasetFeatures(p); err != nil {
				return nil, fmt.Errorf("task %d (%s): %w", ti, name, err)
			} else {
				task.Feats = feats.Tensor()
			}
		} else if feats != nil {
			if err := feats.Validate(); err != nil {
				return nil, fmt.Errorf("task %d (%s): features: %w", ti, name, err)
			}
			task.Feats = feats.Tensor()
		}
		var isEval bool
		switch te.Split {
		case "", "train":
		case "eval":
			isEval, anyEval = true, true
		default:
			return nil, fmt.Errorf("task %d (%s): split %q (want train or eval)", ti, name, te.Split)
		}
		if len(te.Archs) == 0 {
			return nil, fmt.Errorf("task %d (%s): no archs", ti, name)
		}
		d.Tasks = append(d.Tasks, task)
		for k, aa := range te.Archs {
			a, err := nb201.Parse(aa.Arch)
			if err != nil {
				return nil, fmt.Errorf("task %d (%s) arch %d: %w", ti, name, k, err)
			}
			s := Sample{Arch: a, Acc: aa.Acc, Task: ti}
			switch {
			case isEval:
				d.Eval = append(d.Eval, s)
			default:
				all = append(all, s)
			}
		}
	}
	if anyEval || evalFrac == 0 {
		d.Train = all
	} else {
		perm := tensor.NewRNG(seed).Perm(len(all))
		nEval := int(evalFrac * float64(len(all)))
		for k, i := range perm {
			if k < nEval {
				d.Eval = append(d.Eval, all[i])
			} else {
				d.Train = append(d.Train, all[i])
			}
		}
	}
	return d, d.Validate()
}
