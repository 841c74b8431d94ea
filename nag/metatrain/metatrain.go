// Package metatrain imports the official DiffusionNAG meta-training data
// for the NB201 meta-predictor (NAS-Bench-201/data/transfer_nag/*.pt, see
// the README of ../shared/data/diffusionnag-official): 4,630 (architecture,
// accuracy, task) entries, the 5,000-task class list, the entry permutation
// whose first 400 entries are the evaluation split, and the NB201 dataset
// permutation ridx.
package metatrain

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/nag/torchpt"
)

// File names inside the official data directory.
const (
	EntriesFile = "meta_train_tasks_predictor.pt"
	TasksFile   = "meta_train_task_lst.pt"
	IdxFile     = "meta_train_tasks_predictor_idx.pt"
	RIdxFile    = "ridx.pt"
)

// NumEval is the size of the evaluation split (the first entries of Idx).
const NumEval = 400

// Entry is one meta-training example.
type Entry struct {
	Arch nb201.Arch
	Acc  float64 // accuracy in percent on the task
	Task int     // index into Data.Tasks
	// Normalised cost features stored with the entry (in [1e-5, 1]).
	Flops, Params, Latency float64
}

// Data is the imported meta-training set.
type Data struct {
	Entries []Entry
	Tasks   [][]int // 5000 tasks of 20 ImageNet-32 class ids (1..600)
	Idx     []int   // permutation of the entries; Idx[:400] is the eval split
	RIdx    []int   // permutation of NB201 indices (dataset order)
}

// Load reads the four files from dir.
func Load(dir string) (*Data, error) {
	var d Data
	var err error
	if d.Entries, err = LoadEntries(filepath.Join(dir, EntriesFile)); err != nil {
		return nil, err
	}
	if d.Tasks, err = LoadTasks(filepath.Join(dir, TasksFile)); err != nil {
		return nil, err
	}
	if d.Idx, err = LoadPerm(filepath.Join(dir, IdxFile)); err != nil {
		return nil, err
	}
	if d.RIdx, err = LoadPerm(filepath.Join(dir, RIdxFile)); err != nil {
		return nil, err
	}
	if len(d.Idx) != len(d.Entries) {
		return nil, fmt.Errorf("metatrain: %s has %d indices for %d entries", IdxFile, len(d.Idx), len(d.Entries))
	}
	for i, e := range d.Entries {
		if e.Task >= len(d.Tasks) {
			return nil, fmt.Errorf("metatrain: entry %d: task %d, but %s has %d tasks", i, e.Task, TasksFile, len(d.Tasks))
		}
	}
	return &d, nil
}

// Split returns the training and evaluation entry indices: Idx[NumEval:]
// and Idx[:NumEval], as the reference does.
func (d *Data) Split() (train, eval []int) {
	n := min(NumEval, len(d.Idx))
	return append([]int(nil), d.Idx[n:]...), append([]int(nil), d.Idx[:n]...)
}

// LoadEntries reads meta_train_tasks_predictor.pt. Each entry's stored
// one-hot x must decode to its arch string.
func LoadEntries(path string) ([]Entry, error) {
	f, err := torchpt.Load(path)
	if err != nil {
		return nil, fmt.Errorf("metatrain: %w", err)
	}
	root, ok := f.Root.(*torchpt.Dict)
	if !ok {
		return nil, fmt.Errorf("metatrain: %s: root is %s, want a dict", path, torchpt.Describe(f.Root))
	}
	list := func(key string) ([]any, error) {
		v, ok := root.Get(key)
		if !ok {
			return nil, fmt.Errorf("metatrain: %s: no key %q", path, key)
		}
		l, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("metatrain: %s: %q is %s, want a list", path, key, torchpt.Describe(v))
		}
		return l, nil
	}
	keys := []string{"str", "acc", "task", "x", "flops", "params", "latency"}
	cols := map[string][]any{}
	for _, k := range keys {
		l, err := list(k)
		if err != nil {
			return nil, err
		}
		if len(l) != len(cols["str"]) && k != "str" {
			return nil, fmt.Errorf("metatrain: %s: %q has %d entries, \"str\" has %d", path, k, len(l), len(cols["str"]))
		}
		cols[k] = l
	}
	n := len(cols["str"])
	out := make([]Entry, n)
	for i := 0; i < n; i++ {
		bad := func(format string, a ...any) error {
			return fmt.Errorf("metatrain: %s: entry %d: %s", path, i, fmt.Sprintf(format, a...))
		}
		s, ok := cols["str"][i].(string)
		if !ok {
			return nil, bad("str is %s", torchpt.Describe(cols["str"][i]))
		}
		a, err := nb201.Parse(s)
		if err != nil {
			return nil, bad("%v", err)
		}
		e := Entry{Arch: a}
		if e.Acc, err = number(cols["acc"][i]); err != nil {
			return nil, bad("acc: %v", err)
		}
		task, ok := cols["task"][i].(int64)
		if !ok || task < 0 {
			return nil, bad("task is %v", cols["task"][i])
		}
		e.Task = int(task)
		for _, c := range []struct {
			key string
			dst *float64
		}{{"flops", &e.Flops}, {"params", &e.Params}, {"latency", &e.Latency}} {
			if *c.dst, err = number(cols[c.key][i]); err != nil {
				return nil, bad("%s: %v", c.key, err)
			}
		}
		xt, ok := cols["x"][i].(*torchpt.Tensor)
		if !ok || xt.Len() != nb201.NumNodes*nb201.NumTypes {
			return nil, bad("x is %s, want an [8, 7] tensor", torchpt.Describe(cols["x"][i]))
		}
		x, err := nb201.XFromSlice(xt.Float32s())
		if err != nil {
			return nil, bad("x: %v", err)
		}
		if xa, err := x.Arch(); err != nil || xa != a {
			return nil, bad("x decodes to %v (%v), str is %s", xa, err, s)
		}
		out[i] = e
	}
	return out, nil
}

func number(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) {
			return 0, fmt.Errorf("NaN")
		}
		return x, nil
	case int64:
		return float64(x), nil
	}
	return 0, fmt.Errorf("%s is not a number", torchpt.Describe(v))
}

// LoadTasks reads meta_train_task_lst.pt: a list of lists of class ids.
func LoadTasks(path string) ([][]int, error) {
	f, err := torchpt.Load(path)
	if err != nil {
		return nil, fmt.Errorf("metatrain: %w", err)
	}
	l, ok := f.Root.([]any)
	if !ok {
		return nil, fmt.Errorf("metatrain: %s: root is %s, want a list", path, torchpt.Describe(f.Root))
	}
	out := make([][]int, len(l))
	for i, t := range l {
		ids, err := ints(t)
		if err != nil {
			return nil, fmt.Errorf("metatrain: %s: task %d: %v", path, i, err)
		}
		out[i] = ids
	}
	return out, nil
}

// LoadPerm reads a legacy LongTensor file holding a permutation of 0..n-1.
func LoadPerm(path string) ([]int, error) {
	f, err := torchpt.Load(path)
	if err != nil {
		return nil, fmt.Errorf("metatrain: %w", err)
	}
	p, err := ints(f.Root)
	if err != nil {
		return nil, fmt.Errorf("metatrain: %s: %v", path, err)
	}
	seen := make([]bool, len(p))
	for i, v := range p {
		if v < 0 || v >= len(p) || seen[v] {
			return nil, fmt.Errorf("metatrain: %s: not a permutation of 0..%d (entry %d is %d)", path, len(p)-1, i, v)
		}
		seen[v] = true
	}
	return p, nil
}

// ints converts a list of ints or an integer tensor.
func ints(v any) ([]int, error) {
	switch x := v.(type) {
	case []any:
		out := make([]int, len(x))
		for i, e := range x {
			n, ok := e.(int64)
			if !ok {
				return nil, fmt.Errorf("element %d is %s, want an int", i, torchpt.Describe(e))
			}
			out[i] = int(n)
		}
		return out, nil
	case *torchpt.Tensor:
		vals, err := x.Int64s()
		if err != nil {
			return nil, err
		}
		out := make([]int, len(vals))
		for i, n := range vals {
			out[i] = int(n)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is not a list of ints or an integer tensor", torchpt.Describe(v))
}
