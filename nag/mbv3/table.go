// Package mbv3 is the glue between the Once-for-All (OFA) MobileNetV3 search
// space (nag/ofa) and the rest of nag: the table of measured OFA
// sub-networks (ofa_mbv3.jsonl.gz), OFA's released accuracy predictor (an
// MLP, run in our engine from ofa_acc_predictor_w12.safetensors), the
// architecture dataset the score network trains on (uniform samples of the
// valid space or a file of architecture strings), and a surrogate
// evaluator that scores architectures with OFA's predictor at r = 224.
//
// Everything scored with the OFA predictor is a surrogate benchmark: the
// predictor estimates the top-1 accuracy of the w1.2 supernet's sub-network
// on OFA's 10k-image holdout split of ImageNet train; it is not a measured
// ImageNet accuracy. Outputs built on it carry SurrogateNote.
package mbv3

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nagml/nag/nag/ofa"
)

// EnvData is the environment variable naming the shared data root; the
// OFA files are in its ofa-mbv3 folder.
const EnvData = "NAG_DATA"

// Table and predictor file names inside the ofa-mbv3 data folder.
const (
	TableFile     = "ofa_mbv3.jsonl.gz"
	PredictorFile = "ofa_acc_predictor_w12.safetensors"
)

// DefaultDir returns $NAG_DATA/ofa-mbv3, or "" when NAG_DATA is unset.
func DefaultDir() string {
	if d := os.Getenv(EnvData); d != "" {
		return filepath.Join(d, "ofa-mbv3")
	}
	return ""
}

// Spec is one of OFA's released specialised nets sharing a row's
// architecture.
type Spec struct {
	Name           string   `json:"name"`
	WidthMult      float64  `json:"width_mult"`
	Device         *string  `json:"device"`
	LatMS          *float64 `json:"lat_ms"`
	Top1Pct        *float64 `json:"top1_pct"`
	FinetuneEpochs *int     `json:"finetune_epochs"`
	FlopsM         *float64 `json:"flops_m"`
}

// Row is one line of ofa_mbv3.jsonl.gz (see the data README for the
// meaning and units of every field). Optional fields are nil when the
// sources give no value.
type Row struct {
	ID      int    `json:"id"`
	KS      []int  `json:"ks"`
	E       []int  `json:"e"`
	D       []int  `json:"d"`
	R       int    `json:"r"`
	ArchStr string `json:"arch_str"`

	FlopsMW10  float64 `json:"flops_m_w10"`
	ParamsMW10 float64 `json:"params_m_w10"`
	FlopsMW12  float64 `json:"flops_m_w12"`
	ParamsMW12 float64 `json:"params_m_w12"`

	HelpIdx *int `json:"help_idx"`
	// HELP GPU latencies in ms, batch 1/32/64.
	Lat2080tiB1    *float64 `json:"help_lat_ms_2080ti_b1"`
	Lat2080tiB32   *float64 `json:"help_lat_ms_2080ti_b32"`
	Lat2080tiB64   *float64 `json:"help_lat_ms_2080ti_b64"`
	LatTitanRTXB1  *float64 `json:"help_lat_ms_titan_rtx_b1"`
	LatTitanRTXB32 *float64 `json:"help_lat_ms_titan_rtx_b32"`
	LatTitanRTXB64 *float64 `json:"help_lat_ms_titan_rtx_b64"`
	LatTitanXpB1   *float64 `json:"help_lat_ms_titan_xp_b1"`
	LatTitanXpB32  *float64 `json:"help_lat_ms_titan_xp_b32"`
	LatTitanXpB64  *float64 `json:"help_lat_ms_titan_xp_b64"`
	LatV100B1      *float64 `json:"help_lat_ms_v100_b1"`
	LatV100B32     *float64 `json:"help_lat_ms_v100_b32"`
	LatV100B64     *float64 `json:"help_lat_ms_v100_b64"`

	MoofaIdx        *int     `json:"moofa_idx"`
	MoofaTop1PctW10 *float64 `json:"moofa_top1_pct_w10"`
	MoofaPeakMem    *int64   `json:"moofa_peak_mem_elems"`
	OFAPredTop1W12  *float64 `json:"ofa_pred_top1_pct_w12"`
	Spec            []Spec   `json:"spec"`

	HelpNASDevice     *string  `json:"helpnas_device"`
	HelpNASLatMS      *float64 `json:"helpnas_lat_ms"`
	HelpNASTop1PctW12 *float64 `json:"helpnas_top1_pct_w12"`

	// Arch is the decoded architecture (filled by the reader).
	Arch ofa.Arch `json:"-"`
}

// LatencyColumns lists the HELP latency columns in file order.
var LatencyColumns = []string{
	"2080ti_b1", "2080ti_b32", "2080ti_b64",
	"titan_rtx_b1", "titan_rtx_b32", "titan_rtx_b64",
	"titan_xp_b1", "titan_xp_b32", "titan_xp_b64",
	"v100_b1", "v100_b32", "v100_b64",
}

// Latency returns the HELP latency (ms) of the row for a device column
// name from LatencyColumns ("titan_rtx_b64", ...); ok is false when the
// row has no value; an unknown name is an error.
func (r *Row) Latency(device string) (ms float64, ok bool, err error) {
	var p *float64
	switch device {
	case "2080ti_b1":
		p = r.Lat2080tiB1
	case "2080ti_b32":
		p = r.Lat2080tiB32
	case "2080ti_b64":
		p = r.Lat2080tiB64
	case "titan_rtx_b1":
		p = r.LatTitanRTXB1
	case "titan_rtx_b32":
		p = r.LatTitanRTXB32
	case "titan_rtx_b64":
		p = r.LatTitanRTXB64
	case "titan_xp_b1":
		p = r.LatTitanXpB1
	case "titan_xp_b32":
		p = r.LatTitanXpB32
	case "titan_xp_b64":
		p = r.LatTitanXpB64
	case "v100_b1":
		p = r.LatV100B1
	case "v100_b32":
		p = r.LatV100B32
	case "v100_b64":
		p = r.LatV100B64
	default:
		return 0, false, fmt.Errorf("unknown OFA latency device %q (want one of %v)", device, LatencyColumns)
	}
	if p == nil {
		return 0, false, nil
	}
	return *p, true, nil
}

// Table is the parsed OFA sub-network table.
type Table struct {
	Path string
	Rows []Row
}

// LoadTable reads ofa_mbv3.jsonl.gz (gzip JSON lines).
func LoadTable(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("OFA table: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("OFA table %s: %w", path, err)
	}
	t, err := ReadTable(zr, path)
	if err != nil {
		return nil, err
	}
	t.Path = path
	return t, nil
}

// ReadTable parses uncompressed JSON lines; name is used in errors. Every
// row's ks/e/d must form a valid sub-network whose string form equals
// arch_str, and r must be positive.
func ReadTable(r io.Reader, name string) (*Table, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	t := &Table{}
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var row Row
		if err := json.Unmarshal(b, &row); err != nil {
			return nil, fmt.Errorf("OFA table %s line %d: %w", name, line, err)
		}
		a, err := ofa.FromLists(row.KS, row.E, row.D)
		if err != nil {
			return nil, fmt.Errorf("OFA table %s line %d (id %d): %w", name, line, row.ID, err)
		}
		if s := a.String(); s != row.ArchStr {
			return nil, fmt.Errorf("OFA table %s line %d (id %d): arch_str %q does not match ks/e/d (%q)", name, line, row.ID, row.ArchStr, s)
		}
		if row.R <= 0 {
			return nil, fmt.Errorf("OFA table %s line %d (id %d): resolution %d must be positive", name, line, row.ID, row.R)
		}
		row.Arch = a
		t.Rows = append(t.Rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("OFA table %s line %d: %w", name, line+1, err)
	}
	if len(t.Rows) == 0 {
		return nil, fmt.Errorf("OFA table %s: no rows", name)
	}
	return t, nil
}

// ByID returns the row with the given id (ids are row numbers in the
// shipped file, but the lookup does not rely on it).
func (t *Table) ByID(id int) (*Row, bool) {
	if id >= 0 && id < len(t.Rows) && t.Rows[id].ID == id {
		return &t.Rows[id], true
	}
	for i := range t.Rows {
		if t.Rows[i].ID == id {
			return &t.Rows[i], true
		}
	}
	return nil, false
}

// Filter returns the rows for which keep is true.
func (t *Table) Filter(keep func(*Row) bool) []*Row {
	var out []*Row
	for i := range t.Rows {
		if keep(&t.Rows[i]) {
			out = append(out, &t.Rows[i])
		}
	}
	return out
}
