// Package bench201 loads the merged NAS-Bench-201 table (nb201.csv.gz, see
// the README next to it) and answers queries by architecture, by official
// index and by isomorphism class, for any of its metric columns.
package bench201

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/nagml/nag/nag/nb201"
)

// EnvPath is the environment variable holding the default table path.
const EnvPath = "NAG_NB201"

// DefaultPath returns $NAG_NB201 (empty when unset).
func DefaultPath() string { return os.Getenv(EnvPath) }

// identity columns, in this order, start every row.
var identity = []string{"index", "arch_str", "ops", "iso_index"}

// MetricColumns are the numeric columns the table must contain (README of
// nb201.csv.gz): 200-epoch accuracies and losses, 12-epoch accuracies,
// params/FLOPs, HW-NAS-Bench and HELP latency/energy.
var MetricColumns = []string{
	"c10_test", "c10v_valid", "c10v_test", "c100_test", "in16_test", "c10v_train",
	"c10v_train_loss", "c10v_valid_loss", "c10v_test_loss",
	"c10v_train_time_epoch", "c10v_valid_time_epoch", "c10v_test_time_epoch",
	"c10_test_12ep", "c10v_valid_12ep", "c100_valid_12ep", "c100_test_12ep", "in16_valid_12ep", "in16_test_12ep",
	"params_c10", "flops_c10", "params_c100", "flops_c100", "params_in16", "flops_in16",
	"hw_c10_edgegpu_latency", "hw_c10_edgegpu_energy", "hw_c10_raspi4_latency", "hw_c10_edgetpu_latency",
	"hw_c10_pixel3_latency", "hw_c10_eyeriss_latency", "hw_c10_eyeriss_energy",
	"hw_c10_eyeriss_arithmetic_intensity", "hw_c10_fpga_latency", "hw_c10_fpga_energy",
	"hw_c100_edgegpu_latency", "hw_c100_edgegpu_energy", "hw_c100_raspi4_latency", "hw_c100_edgetpu_latency",
	"hw_c100_pixel3_latency", "hw_c100_eyeriss_latency", "hw_c100_eyeriss_energy",
	"hw_c100_eyeriss_arithmetic_intensity", "hw_c100_fpga_latency", "hw_c100_fpga_energy",
	"hw_in16_edgegpu_latency", "hw_in16_edgegpu_energy", "hw_in16_raspi4_latency", "hw_in16_edgetpu_latency",
	"hw_in16_pixel3_latency", "hw_in16_eyeriss_latency", "hw_in16_eyeriss_energy",
	"hw_in16_eyeriss_arithmetic_intensity", "hw_in16_fpga_latency", "hw_in16_fpga_energy",
	"help_lat_1080ti_1", "help_lat_1080ti_32", "help_lat_1080ti_256",
	"help_lat_2080ti_1", "help_lat_2080ti_32", "help_lat_2080ti_256",
	"help_lat_titan_rtx_1", "help_lat_titan_rtx_32", "help_lat_titan_rtx_256",
	"help_lat_titanx_1", "help_lat_titanx_32", "help_lat_titanx_256",
	"help_lat_titanxp_1", "help_lat_titanxp_32", "help_lat_titanxp_256",
	"help_lat_gold_6226", "help_lat_gold_6240", "help_lat_silver_4114", "help_lat_silver_4210r",
	"help_lat_pixel2", "help_lat_samsung_a50", "help_lat_samsung_s7", "help_lat_essential_ph_1",
}

// Table is the loaded benchmark: one row per NB201 cell, in official index
// order 0..15624. It is read-only after Load and safe for concurrent use.
type Table struct {
	path    string
	names   []string       // metric column names, file order
	colIdx  map[string]int // name -> position in names/cols
	cols    [][]float64    // cols[c][row]
	archs   []nb201.Arch   // by index
	iso     []int32        // iso_index by index
	byKey   [nb201.NumArchs]int32
	members map[int32][]int32 // iso representative -> member indices (ascending)
}

// Load reads the table from path (gzip-compressed or plain CSV). Errors name
// the file and, for content problems, the line.
func Load(path string) (*Table, error) {
	if path == "" {
		return nil, fmt.Errorf("bench201: no table path given (set a path flag or $%s)", EnvPath)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bench201: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	var r io.Reader = br
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("bench201: %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	return Read(r, path)
}

// Read parses the CSV text of the table from r; name is used in errors.
func Read(r io.Reader, name string) (*Table, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("bench201: read %s: %w", name, err)
	}
	lines := splitLines(raw)
	if len(lines) == 0 {
		return nil, fmt.Errorf("bench201: %s: empty file (want a header line)", name)
	}
	t := &Table{path: name, colIdx: map[string]int{}, members: map[int32][]int32{}}
	header := bytes.Split(lines[0], []byte(","))
	if err := t.readHeader(header, name); err != nil {
		return nil, err
	}
	rows := lines[1:]
	if len(rows) != nb201.NumArchs {
		if len(rows) < nb201.NumArchs {
			// Report row problems first (a truncated last line is the usual cause).
			if err := t.parseRows(rows, name, len(header)); err != nil {
				return nil, err
			}
		}
		return nil, fmt.Errorf("bench201: %s: %d data rows, want %d", name, len(rows), nb201.NumArchs)
	}
	if err := t.parseRows(rows, name, len(header)); err != nil {
		return nil, err
	}
	return t, t.finish(name)
}

// splitLines splits on '\n' (tolerating "\r\n") and drops one trailing empty line.
func splitLines(b []byte) [][]byte {
	lines := bytes.Split(b, []byte("\n"))
	if n := len(lines); n > 0 && len(lines[n-1]) == 0 {
		lines = lines[:n-1]
	}
	for i, l := range lines {
		lines[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	return lines
}

func (t *Table) readHeader(header [][]byte, name string) error {
	if len(header) < len(identity) {
		return fmt.Errorf("bench201: %s:1: header has %d columns, want at least %d starting %v", name, len(header), len(identity), identity)
	}
	for i, want := range identity {
		if got := string(header[i]); got != want {
			return fmt.Errorf("bench201: %s:1: header column %d is %q, want %q", name, i+1, got, want)
		}
	}
	for i, h := range header[len(identity):] {
		n := string(h)
		if n == "" {
			return fmt.Errorf("bench201: %s:1: header column %d is empty", name, i+len(identity)+1)
		}
		if _, dup := t.colIdx[n]; dup {
			return fmt.Errorf("bench201: %s:1: header column %q appears twice", name, n)
		}
		t.colIdx[n] = len(t.names)
		t.names = append(t.names, n)
	}
	for _, want := range MetricColumns {
		if _, ok := t.colIdx[want]; !ok {
			return fmt.Errorf("bench201: %s:1: header lacks column %q", name, want)
		}
	}
	return nil
}

// parseRows fills the table from the data lines, in parallel chunks.
func (t *Table) parseRows(rows [][]byte, name string, ncol int) error {
	n := len(rows)
	t.archs = make([]nb201.Arch, n)
	t.iso = make([]int32, n)
	t.cols = make([][]float64, len(t.names))
	for c := range t.cols {
		t.cols[c] = make([]float64, n)
	}
	workers := runtime.GOMAXPROCS(0)
	if workers > 8 {
		workers = 8
	}
	chunk := (n + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, n)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func(w, lo, hi int) {
			defer wg.Done()
			fields := make([][]byte, 0, ncol)
			for i := lo; i < hi; i++ {
				if err := t.parseRow(i, rows[i], fields, name, ncol); err != nil {
					errs[w] = err
					return
				}
			}
		}(w, lo, hi)
	}
	wg.Wait()
	for _, err := range errs { // first chunk's error = lowest line number
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *Table) parseRow(i int, line []byte, fields [][]byte, name string, ncol int) error {
	lineNo := i + 2
	bad := func(format string, a ...any) error {
		return fmt.Errorf("bench201: %s:%d: %s", name, lineNo, fmt.Sprintf(format, a...))
	}
	fields = fields[:0]
	for {
		k := bytes.IndexByte(line, ',')
		if k < 0 {
			fields = append(fields, line)
			break
		}
		fields = append(fields, line[:k])
		line = line[k+1:]
	}
	if len(fields) != ncol {
		return bad("%d fields, want %d", len(fields), ncol)
	}
	idx, err := strconv.Atoi(string(fields[0]))
	if err != nil || idx != i {
		return bad("index %q, want %d (rows must be in index order)", fields[0], i)
	}
	a, err := nb201.Parse(string(fields[1]))
	if err != nil {
		return bad("arch_str: %v", err)
	}
	if code := string(fields[2]); code != a.Code() {
		return bad("ops %q does not match arch_str (ops %s)", code, a.Code())
	}
	iso, err := strconv.Atoi(string(fields[3]))
	if err != nil || iso < 0 || iso > i {
		return bad("iso_index %q, want an integer in 0..%d", fields[3], i)
	}
	t.archs[i] = a
	t.iso[i] = int32(iso)
	for c := range t.names {
		f := fields[len(identity)+c]
		v, err := parseFloat(f)
		if err != nil {
			return bad("column %q: %q is not a number", t.names[c], f)
		}
		t.cols[c][i] = v
	}
	return nil
}

// finish builds the lookup structures and checks cross-row consistency.
func (t *Table) finish(name string) error {
	for k := range t.byKey {
		t.byKey[k] = -1
	}
	for i, a := range t.archs {
		k := a.Key()
		if j := t.byKey[k]; j >= 0 {
			return fmt.Errorf("bench201: %s:%d: arch %s repeats line %d", name, i+2, a, j+2)
		}
		t.byKey[k] = int32(i)
		r := t.iso[i]
		if t.iso[r] != r {
			return fmt.Errorf("bench201: %s:%d: iso_index %d is not a class representative (its own iso_index is %d)", name, i+2, r, t.iso[r])
		}
		t.members[r] = append(t.members[r], int32(i))
	}
	return nil
}

// Path returns the name the table was loaded from.
func (t *Table) Path() string { return t.path }

// Len returns the number of rows (15,625).
func (t *Table) Len() int { return len(t.archs) }

// Columns returns the metric column names in file order.
func (t *Table) Columns() []string { return append([]string(nil), t.names...) }

// HasColumn reports whether name is a metric column.
func (t *Table) HasColumn(name string) bool { _, ok := t.colIdx[name]; return ok }

// ErrUnknownColumn is wrapped by errors for a column name the table lacks.
var ErrUnknownColumn = errors.New("unknown column")

// Column returns the values of a metric column, indexed by official index.
// The slice is shared: do not modify it.
func (t *Table) Column(name string) ([]float64, error) {
	c, ok := t.colIdx[name]
	if !ok {
		return nil, fmt.Errorf("bench201: %w %q (e.g. c10_test, c10v_valid, c100_test, in16_test, c10_test_12ep, hw_c10_edgegpu_latency)", ErrUnknownColumn, name)
	}
	return t.cols[c], nil
}

// Value returns one metric of the row with official index i.
func (t *Table) Value(i int, name string) (float64, error) {
	col, err := t.Column(name)
	if err != nil {
		return 0, err
	}
	if i < 0 || i >= len(col) {
		return 0, fmt.Errorf("bench201: index %d out of range 0..%d", i, len(col)-1)
	}
	return col[i], nil
}

// Query returns one metric of the cell a.
func (t *Table) Query(a nb201.Arch, name string) (float64, error) {
	i := t.Index(a)
	if i < 0 {
		return 0, fmt.Errorf("bench201: arch %s not in table", a)
	}
	return t.Value(i, name)
}

// Arch returns the cell of official index i. It panics if i is out of range.
func (t *Table) Arch(i int) nb201.Arch { return t.archs[i] }

// Archs returns all cells in index order (a copy).
func (t *Table) Archs() []nb201.Arch { return append([]nb201.Arch(nil), t.archs...) }

// Index returns the official index of a, or -1 when the table lacks it.
func (t *Table) Index(a nb201.Arch) int { return int(t.byKey[a.Key()]) }

// IndexOf parses an NB201 string and returns its official index.
func (t *Table) IndexOf(s string) (int, error) {
	a, err := nb201.Parse(s)
	if err != nil {
		return -1, err
	}
	i := t.Index(a)
	if i < 0 {
		return -1, fmt.Errorf("bench201: arch %s not in table", a)
	}
	return i, nil
}

// IsoIndex returns the `iso_index` of row i: the smallest index whose cell
// is isomorphic to cell i.
func (t *Table) IsoIndex(i int) int { return int(t.iso[i]) }

// IsoMembers returns the indices (ascending) of the isomorphism class whose
// representative is iso, or nil if iso is not a representative.
func (t *Table) IsoMembers(iso int) []int {
	m := t.members[int32(iso)]
	out := make([]int, len(m))
	for i, v := range m {
		out[i] = int(v)
	}
	return out
}

// IsoRepresentatives returns the class representatives in ascending order
// (6,466 for the full table).
func (t *Table) IsoRepresentatives() []int {
	out := make([]int, 0, len(t.members))
	for r := range t.members {
		out = append(out, int(r))
	}
	sort.Ints(out)
	return out
}

// Best returns the index and value of the largest entry of a column (first
// index on ties).
func (t *Table) Best(name string) (int, float64, error) {
	col, err := t.Column(name)
	if err != nil {
		return -1, 0, err
	}
	best := 0
	for i, v := range col {
		if v > col[best] {
			best = i
		}
	}
	return best, col[best], nil
}
