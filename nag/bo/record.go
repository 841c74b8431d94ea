package bo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// F is a float64 that encodes NaN as JSON null (and decodes null as NaN), for
// values an evaluator may not know (the test accuracy of an external job).
type F float64

// MarshalJSON implements json.Marshaler.
func (f F) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatFloat(v, 'g', -1, 64)), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *F) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*f = F(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = F(v)
	return nil
}

// RecordFileName is the file name of a run's record inside an output
// directory: METHOD-TASK-seedN.json.
func RecordFileName(method, task string, seed uint64) string {
	return fmt.Sprintf("%s-%s-seed%d.json", method, task, seed)
}

// WriteRecord writes r as indented JSON to path (via a temporary file and a
// rename, so a reader never sees half a record).
func WriteRecord(path string, r *Record) error {
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	return nil
}

// ReadRecord reads one run record.
func ReadRecord(path string) (*Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read record: %w", err)
	}
	r := Record{CPUSeconds: F(math.NaN())} // absent in older records
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("record %s: %w", path, err)
	}
	if r.Format != RecordFormat {
		return nil, fmt.Errorf("record %s: format %q, want %q", path, r.Format, RecordFormat)
	}
	if r.Method == "" || r.Task.Name == "" {
		return nil, fmt.Errorf("record %s: missing method or task", path)
	}
	return &r, nil
}

// ReadRecords reads every *.json run record in dir (sorted by file name).
// Files that are not run records are an error.
func ReadRecords(dir string) ([]*Record, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	sort.Strings(paths)
	var out []*Record
	for _, p := range paths {
		r, err := ReadRecord(p)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no run records (*.json) in %s", dir)
	}
	return out, nil
}
