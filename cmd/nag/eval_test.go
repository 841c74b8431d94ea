package main

import (
	"encoding/json"
	"github.com/nagml/nag/internal/shareddata"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runEvalArgs(args ...string) (code int, stdout, stderr string) {
	return runArgs(append([]string{"eval"}, args...)...)
}

// evalDataRoot finds the shared data: $NAG_DATA, else ../shared/data next
// to the directory holding go.mod.
func evalDataRoot(t *testing.T) string { return shareddata.Root(t) }

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	evalBest = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
	evalRow1 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
)

func TestEvalNB201(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "gen.jsonl", strings.Join([]string{
		`{"arch": "` + evalRow1 + `", "score": 1}`,
		`not json`,
		``,
		`{"arch": "` + evalBest + `"}`,
		`{"arch": 5}`,
		`{"arch": "` + evalRow1 + `"}`,
		`{"arch": "|bad~0|"}`,
		`{"x": 1}`,
	}, "\n"))
	train := writeFile(t, dir, "train.txt", evalRow1+"\n\n"+`{"arch": "`+evalRow1+`"}`+"\n")
	args := []string{"--space", "nb201", "--in", in, "--train-set", train, "--bench", ""}
	tablePath := filepath.Join(evalDataRoot(t), "nasbench201", "nb201.csv.gz")
	haveTable := false
	if _, err := os.Stat(tablePath); err == nil {
		haveTable = true
		args = append(args[:len(args)-1], tablePath, "--metric", "c10_test")
	}
	code, out, errOut := runEvalArgs(args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	// 7 non-blank lines; 3 valid (row1, best, row1); 2 distinct; 1 novel of 2.
	want := map[string]float64{"n": 7, "n_valid": 3, "valid": 3.0 / 7, "unique": 2.0 / 3, "unique_iso": 2.0 / 3, "novel": 0.5, "bad_lines": 3}
	if haveTable {
		want["acc_top1_by_order"] = 93.66
		want["acc_max"] = 94.37333333333332
		want["best_index"] = 6111
		want["acc_mean"] = (93.66*2 + 94.37333333333332) / 3
	}
	for k, v := range want {
		got, ok := res[k].(float64)
		if !ok || (got-v) > 1e-9 || (v-got) > 1e-9 {
			t.Errorf("%s = %v, want %v", k, res[k], v)
		}
	}
	for _, line := range []string{"gen.jsonl:2: bad line", "gen.jsonl:5: bad line", `"arch" is not a string`, "gen.jsonl:7: invalid architecture", `gen.jsonl:8: bad line (counted invalid): no "arch" field`} {
		if !strings.Contains(errOut, line) {
			t.Errorf("stderr lacks %q:\n%s", line, errOut)
		}
	}
}

func TestEvalMBV3(t *testing.T) {
	dir := t.TempDir()
	a := "2-7-6_2-5-4_0-0-0_0-0-0_2-7-6_2-7-3_0-0-0_0-0-0_2-5-3_2-7-6_0-0-0_0-0-0_2-5-3_2-3-6_0-0-0_0-0-0_3-5-6_3-3-4_3-5-3_0-0-0"
	in := writeFile(t, dir, "gen.jsonl", `{"arch":"`+a+`"}`+"\n"+`{"arch":"`+a+`"}`+"\n"+`{"arch":"2-7-6"}`+"\n")
	code, out, errOut := runEvalArgs("--space", "mbv3", "--in", in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res["n"] != 3.0 || res["valid"] != 2.0/3 || res["unique"] != 0.5 || res["novel"] != nil {
		t.Errorf("result %v", res)
	}
	if _, ok := res["acc_mean"]; ok {
		t.Error("acc_mean without a benchmark")
	}
}

func TestEvalErrors(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "gen.jsonl", `{"arch":"`+evalBest+`"}`+"\n")
	badTrain := writeFile(t, dir, "train.txt", evalBest+"\n|nope|\n")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--space", "nb201"}, 2, "--in is required"},
		{[]string{"--space", "nb301", "--in", in}, 2, `--space "nb301"`},
		{[]string{"--in", filepath.Join(dir, "none.jsonl"), "--bench", ""}, 1, "none.jsonl"},
		{[]string{"--in", in, "--bench", "", "--train-set", badTrain}, 1, "train.txt:2"},
		{[]string{"--in", in, "--bench", filepath.Join(dir, "nb.csv.gz")}, 1, "nb.csv.gz"},
		{[]string{"--space", "mbv3", "--in", in, "--bench", "x.csv.gz"}, 2, "--bench is only available"},
	}
	for _, c := range cases {
		code, _, errOut := runEvalArgs(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
	tablePath := filepath.Join(evalDataRoot(t), "nasbench201", "nb201.csv.gz")
	if _, err := os.Stat(tablePath); err == nil {
		code, _, errOut := runEvalArgs("--in", in, "--bench", tablePath, "--metric", "c10_valid")
		if code != 2 || !strings.Contains(errOut, `unknown column "c10_valid"`) {
			t.Errorf("unknown metric: exit %d, %q", code, errOut)
		}
	}
}

func TestEvalTrainSetFromCheckpoint(t *testing.T) {
	dir := t.TempDir()
	// The embedded default checkpoint was trained on a 50 % split; find one
	// architecture inside and one outside its training set.
	m, err := loadScoreModel("default")
	if err != nil {
		t.Fatal(err)
	}
	train := map[string]bool{}
	for _, a := range m.TrainingArchs() {
		train[a] = true
	}
	if len(train) != 7812 {
		t.Fatalf("embedded checkpoint has %d training architectures, want 7812", len(train))
	}
	var in, out string
	for _, a := range []string{evalBest, evalRow1,
		"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
		"|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
		"|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
		"|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|"} {
		if train[a] && in == "" {
			in = a
		}
		if !train[a] && out == "" {
			out = a
		}
	}
	if in == "" || out == "" {
		t.Skip("no probe architecture on both sides of the split")
	}
	gen := writeFile(t, dir, "gen.jsonl", `{"arch":null,"valid":false}`+"\n"+`{"arch":"`+in+`"}`+"\n"+`{"arch":"`+out+`"}`+"\n")
	code, stdout, stderr := runEvalArgs("--in", gen, "--ckpt", "default", "--bench", "")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stderr, "line 1") || strings.Contains(stderr, ":1:") {
		t.Fatalf("a null arch must be counted silently, stderr: %s", stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res["n"].(float64) != 3 || res["n_valid"].(float64) != 2 || res["novel"].(float64) != 0.5 || res["n_train"].(float64) != 7812 {
		t.Fatalf("unexpected summary: %s", stdout)
	}
	if code, _, _ := runEvalArgs("--in", gen, "--ckpt", "default", "--train-set", gen); code != 2 {
		t.Fatalf("--ckpt with --train-set: exit %d, want 2", code)
	}
}
