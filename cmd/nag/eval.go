package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/metrics"
)

// maxReported caps the per-line messages eval prints to stderr.
const maxReported = 20

// evalResult is the JSON object nag eval prints.
type evalResult struct {
	In       string `json:"in"`
	BadLines int    `json:"bad_lines"`
	metrics.Summary
}

func runEval(e *env, args []string) error {
	fs := newFlags(e, "eval", "--space nb201|mbv3 --in FILE.jsonl [--train-set FILE | --ckpt FILE|default] [--bench PATH --metric c10_test]")
	space := fs.String("space", "nb201", "search space: nb201 or mbv3")
	in := fs.String("in", "", "generated architectures, JSON Lines with an \"arch\" field (required)")
	trainSet := fs.String("train-set", "", "training architectures for novelty: one arch string per line, or JSON Lines with \"arch\"")
	ckptPath := fs.String("ckpt", "", "take the training set for novelty from this score-network checkpoint (default = the embedded one)")
	bench := fs.String("bench", defaultNB201(), "NB201 benchmark table nb201.csv.gz "+nb201FlagHelp+"; empty: no accuracy statistics")
	metric := fs.String("metric", "c10_test", "benchmark column to score with (e.g. c10_test, c10v_valid, c100_test, in16_test)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var sp metrics.Space
	switch *space {
	case "nb201":
		sp = metrics.NB201{}
	case "mbv3":
		sp = metrics.MBV3{}
	default:
		return usageError("--space %q: want nb201 or mbv3", *space)
	}
	if *in == "" {
		return usageError("--in is required")
	}
	benchSet := setFlags(fs)["bench"]
	if *space == "mbv3" && *bench != "" {
		if benchSet {
			return usageError("--bench is only available for --space nb201 (no accuracy table covers arbitrary OFA sub-networks)")
		}
		*bench = "" // ignore the NB201 default for mbv3
	}

	if *trainSet != "" && *ckptPath != "" {
		return usageError("--train-set and --ckpt both give a training set; use one")
	}
	var train *metrics.TrainSet
	if *ckptPath != "" {
		m, err := loadScoreModel(*ckptPath)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		archs := m.TrainingArchs()
		items := make([]metrics.Item, 0, len(archs))
		for _, a := range archs {
			items = append(items, metrics.ParseOne(sp, a))
		}
		train = metrics.NewTrainSet(items)
	}
	if *trainSet != "" {
		items, err := readTrainSet(sp, *trainSet)
		if err != nil {
			return err
		}
		train = metrics.NewTrainSet(items)
	}
	var scorer metrics.Bench
	if *bench != "" {
		t, err := bench201.Load(*bench)
		if err != nil {
			return err
		}
		b, err := metrics.NewNB201Bench(t, *metric)
		if err != nil {
			return usageError("--metric: %v", err)
		}
		scorer = b
	}

	f, err := os.Open(*in)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	items, bad, err := readGenerated(sp, f, *in, e.stderr)
	if err != nil {
		return err
	}
	res := evalResult{In: *in, BadLines: bad, Summary: metrics.Summarize(sp, items, train, scorer, *metric)}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// readGenerated reads JSON Lines with an "arch" field. Blank lines are
// skipped; a line that is not such an object is reported on w and counted
// as an invalid architecture (bad), as is an arch that does not parse.
func readGenerated(sp metrics.Space, r io.Reader, name string, w io.Writer) (items []metrics.Item, bad int, err error) {
	br := bufio.NewReaderSize(r, 1<<16)
	reported := 0
	report := func(line int, format string, a ...any) {
		if reported < maxReported {
			fmt.Fprintf(w, "nag eval: %s:%d: %s\n", name, line, fmt.Sprintf(format, a...))
		}
		reported++
	}
	for lineNo := 1; ; lineNo++ {
		raw, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return nil, 0, fmt.Errorf("eval: read %s: %w", name, rerr)
		}
		line := bytes.TrimSpace(raw)
		if len(line) > 0 {
			arch, perr := archField(line)
			if errors.Is(perr, errNullArch) {
				// The sampler's record of an invalid sample: counted, not reported.
				items = append(items, metrics.Invalid(lineNo, perr))
			} else if perr != nil {
				report(lineNo, "bad line (counted invalid): %v", perr)
				bad++
				items = append(items, metrics.Invalid(lineNo, perr))
			} else {
				it := metrics.ParseOne(sp, arch)
				it.Line = lineNo
				if !it.Valid {
					report(lineNo, "invalid architecture: %v", it.Err)
				}
				items = append(items, it)
			}
		}
		if rerr == io.EOF {
			break
		}
	}
	if reported > maxReported {
		fmt.Fprintf(w, "nag eval: %s: %d more problems not shown\n", name, reported-maxReported)
	}
	return items, bad, nil
}

// archField extracts the "arch" string of a JSON object line.
// errNullArch marks a line whose "arch" is null: nag sample writes that for
// a sample that did not decode to a valid architecture.
var errNullArch = errors.New("invalid sample (arch is null)")

func archField(line []byte) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return "", fmt.Errorf("not a JSON object: %v", err)
	}
	raw, ok := obj["arch"]
	if !ok {
		return "", errors.New(`no "arch" field`)
	}
	if string(bytes.TrimSpace(raw)) == "null" {
		return "", errNullArch
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf(`"arch" is not a string: %s`, truncate(string(raw), 40))
	}
	return s, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// readTrainSet reads training architectures: per line either a bare arch
// string or a JSON object with "arch". Any bad or invalid line is an error.
func readTrainSet(sp metrics.Space, path string) ([]metrics.Item, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval: train set: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	var items []metrics.Item
	for lineNo := 1; ; lineNo++ {
		raw, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return nil, fmt.Errorf("eval: read %s: %w", path, rerr)
		}
		line := strings.TrimSpace(string(raw))
		if line != "" {
			arch := line
			if strings.HasPrefix(line, "{") {
				arch, err = archField([]byte(line))
				if err != nil {
					return nil, fmt.Errorf("eval: train set %s:%d: %v", path, lineNo, err)
				}
			}
			it := metrics.ParseOne(sp, arch)
			if !it.Valid {
				return nil, fmt.Errorf("eval: train set %s:%d: %v", path, lineNo, it.Err)
			}
			items = append(items, it)
		}
		if rerr == io.EOF {
			break
		}
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("eval: train set %s: no architectures", path)
	}
	return items, nil
}
