// Package metrics scores a list of generated architectures: validity,
// uniqueness (by string and by isomorphism class), novelty against a
// training set and, given a benchmark, the accuracy statistics of what was
// generated. It is search-space agnostic; Space adapters for NB201 and the
// OFA MobileNetV3 space are provided.
package metrics

import (
	"math"
)

// Space turns an architecture string into the keys the metrics compare.
type Space interface {
	// Name returns the space's flag name ("nb201", "mbv3").
	Name() string
	// Canon parses arch and returns its canonical string (the key for
	// uniqueness/novelty by string) and its isomorphism-class key. A
	// malformed or invalid architecture returns an error.
	Canon(arch string) (key, iso string, err error)
}

// Item is one generated architecture after parsing.
type Item struct {
	Line  int    // 1-based source line (0 when not from a file)
	Arch  string // the string as given
	Valid bool
	Err   error  // why it is invalid (nil when valid)
	Key   string // canonical string (valid only)
	Iso   string // isomorphism-class key (valid only)
}

// Parse builds Items from architecture strings in order.
func Parse(sp Space, archs []string) []Item {
	out := make([]Item, len(archs))
	for i, a := range archs {
		out[i] = ParseOne(sp, a)
	}
	return out
}

// ParseOne builds one Item.
func ParseOne(sp Space, arch string) Item {
	key, iso, err := sp.Canon(arch)
	if err != nil {
		return Item{Arch: arch, Err: err}
	}
	return Item{Arch: arch, Valid: true, Key: key, Iso: iso}
}

// Invalid returns an invalid Item for a line that could not be read.
func Invalid(line int, err error) Item { return Item{Line: line, Err: err} }

// TrainSet is the set of architectures a generator was trained on, for
// novelty.
type TrainSet struct {
	keys map[string]bool
	isos map[string]bool
}

// NewTrainSet builds a training set from valid items (invalid ones are
// ignored; callers that must reject them check first).
func NewTrainSet(items []Item) *TrainSet {
	t := &TrainSet{keys: map[string]bool{}, isos: map[string]bool{}}
	for _, it := range items {
		if it.Valid {
			t.keys[it.Key] = true
			t.isos[it.Iso] = true
		}
	}
	return t
}

// Len returns the number of distinct architectures in the set.
func (t *TrainSet) Len() int { return len(t.keys) }

// Contains reports whether the canonical string key is in the set.
func (t *TrainSet) Contains(key string) bool { return t.keys[key] }

// Bench looks up a benchmark value for a canonical architecture string.
type Bench interface {
	// Lookup returns the metric value and the benchmark index of the
	// architecture; ok is false when the benchmark lacks it.
	Lookup(key string) (value float64, index int, ok bool)
}

// Summary is the JSON result of an evaluation. Fractions are in [0,1].
//
//   - valid      = #valid / n
//   - unique     = #distinct valid canonical strings / #valid
//   - unique_iso = #distinct isomorphism classes among valid / #valid
//   - novel      = #distinct valid strings not in the training set /
//     #distinct valid strings (null without a training set)
//   - novel_iso  = the same over isomorphism classes
//
// With a benchmark, over the valid architectures found in it (every
// occurrence counts, in file order): acc_mean, acc_std (population),
// acc_max with best_index / best_arch (first occurrence on ties), and
// acc_top1_by_order, the value of the first valid architecture in file
// order (what a user who trusts the generator's ranking gets).
type Summary struct {
	Space     string   `json:"space,omitempty"`
	N         int      `json:"n"`
	NumValid  int      `json:"n_valid"`
	NumUnique int      `json:"n_unique"`
	Valid     float64  `json:"valid"`
	Unique    float64  `json:"unique"`
	UniqueIso float64  `json:"unique_iso"`
	NumTrain  int      `json:"n_train,omitempty"`
	Novel     *float64 `json:"novel"`
	NovelIso  *float64 `json:"novel_iso,omitempty"`

	Metric         string   `json:"metric,omitempty"`
	NumScored      int      `json:"n_scored,omitempty"`
	AccMean        *float64 `json:"acc_mean,omitempty"`
	AccStd         *float64 `json:"acc_std,omitempty"`
	AccMax         *float64 `json:"acc_max,omitempty"`
	AccTop1ByOrder *float64 `json:"acc_top1_by_order,omitempty"`
	BestIndex      *int     `json:"best_index,omitempty"`
	BestArch       string   `json:"best_arch,omitempty"`
}

func frac(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ptr[T any](v T) *T { return &v }

// Summarize computes the metrics. train and bench may be nil; metric names
// the benchmark column (reported only).
func Summarize(sp Space, items []Item, train *TrainSet, bench Bench, metric string) Summary {
	s := Summary{N: len(items)}
	if sp != nil {
		s.Space = sp.Name()
	}
	keys := map[string]bool{}
	isos := map[string]bool{}
	for _, it := range items {
		if !it.Valid {
			continue
		}
		s.NumValid++
		keys[it.Key] = true
		isos[it.Iso] = true
	}
	s.NumUnique = len(keys)
	s.Valid = frac(s.NumValid, s.N)
	s.Unique = frac(len(keys), s.NumValid)
	s.UniqueIso = frac(len(isos), s.NumValid)
	if train != nil {
		s.NumTrain = train.Len()
		novel, novelIso := 0, 0
		for k := range keys {
			if !train.keys[k] {
				novel++
			}
		}
		for k := range isos {
			if !train.isos[k] {
				novelIso++
			}
		}
		s.Novel = ptr(frac(novel, len(keys)))
		s.NovelIso = ptr(frac(novelIso, len(isos)))
	}
	if bench == nil {
		return s
	}
	s.Metric = metric
	var sum, sumSq float64
	for _, it := range items {
		if !it.Valid {
			continue
		}
		v, idx, ok := bench.Lookup(it.Key)
		if !ok {
			continue
		}
		if s.NumScored == 0 {
			s.AccTop1ByOrder = ptr(v)
		}
		s.NumScored++
		sum += v
		sumSq += v * v
		if s.AccMax == nil || v > *s.AccMax {
			s.AccMax = ptr(v)
			s.BestIndex = ptr(idx)
			s.BestArch = it.Key
		}
	}
	if s.NumScored > 0 {
		m := sum / float64(s.NumScored)
		s.AccMean = ptr(m)
		s.AccStd = ptr(math.Sqrt(math.Max(0, sumSq/float64(s.NumScored)-m*m)))
	}
	return s
}
