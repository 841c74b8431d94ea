package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nagml/nag/nag/assets"
	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/bo"
	"github.com/nagml/nag/nag/evaluate"
	"github.com/nagml/nag/nag/mbv3"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/nag/ofa"
	"github.com/nagml/nag/nag/predictor"
	"github.com/nagml/nag/nag/progress"
)

// envScoreNet names the default score-network checkpoint for nag bo.
const envScoreNet = "NAG_SCORENET"

func runBO(e *env, args []string) error {
	if len(args) > 0 && args[0] == "report" {
		return runBOReport(e, args[1:])
	}
	fs := newFlags(e, "bo", "[--space nb201|mbv3] --method diffusionnag|bananas|rea|random|ls|gnn-mutation[,...] --task c10|c100|in16 --budget 100 --seeds 0-9 --out DIR\n       nag bo report DIR")
	space := fs.String("space", "nb201", "search space: nb201 (NAS-Bench-201 table) or mbv3 (OFA MobileNetV3; ImageNet-1K top-1 estimated by OFA's accuracy predictor at r = 224: a surrogate benchmark)")
	ofaDir := fs.String("ofa-dir", mbv3.DefaultDir(), "with --space mbv3: folder with ofa_acc_predictor_w12.safetensors (default $NAG_DATA/ofa-mbv3)")
	methods := fs.String("method", "", "search method(s), comma separated: "+strings.Join(bo.MethodNames, ", ")+" (required)")
	task := fs.String("task", "c10", "NB201 task: c10, c100 or in16 (with --space mbv3 the task is in1k)")
	search := fs.String("search", "", "search signal: valid (c10 only, default there), valid12 (12-epoch validation) or test (default for c100/in16, which have no 200-epoch validation column)")
	budget := fs.Int("budget", 100, "evaluations per run")
	batch := fs.Int("batch", 5, "architectures evaluated per round")
	seeds := fs.String("seeds", "0", "seeds: N, A-B or a comma list of both (e.g. 0-9)")
	out := fs.String("out", "", "output directory for the JSON run records (required)")
	force := fs.Bool("force", false, "rerun seeds whose record already exists (default: skip them)")
	bench := fs.String("bench", defaultNB201(), "NB201 table nb201.csv.gz "+nb201FlagHelp)
	scoreNet := fs.String("scorenet", envOr(envScoreNet, ""), "score-network checkpoint for diffusionnag (default $"+envScoreNet+", else the embedded one of the space)")
	d := bo.DefaultMethodOptions()
	acq := fs.String("acq", d.Acq.String(), "acquisition of the BO methods: ei, ucb, ucb:BETA or its")
	nInit := fs.Int("n-init", d.Init, "initial random evaluations (BO methods, local search)")
	pool := fs.Int("pool", 0, "candidates per round (default 100 for mutation, 128 for diffusion)")
	steps := fs.Int("steps", d.Steps, "predictor-corrector steps per guided sampling run (the reference uses 1000)")
	scale := fs.Float64("scale", d.Scale, "guidance weight (relative to the score norm with --ratio)")
	ratio := fs.Bool("ratio", d.Ratio, "scale the guidance per sample by ‖score‖/‖∇acq‖")
	decode := fs.String("decode", d.Decode, "diffusion decoder: project (every sample becomes a cell), argmax or threshold (the reference; invalid samples dropped)")
	warm := fs.String("warm-start", "", "start the GNN ensemble (gnn-mutation, diffusionnag) from a meta-trained predictor: a checkpoint path, or 'embedded' for the built-in one (default: random initialisation)")
	members := fs.Int("members", d.GNN.Members, "GNN ensemble members (gnn-mutation, diffusionnag)")
	localFrac := fs.Float64("local-frac", 0, "diffusionnag extension: fraction of the pool sampled from the best evaluated architectures perturbed to --local-start (SDEdit starts) instead of from the prior (0: the published method)")
	localStart := fs.Float64("local-start", 0, "start time of those proposals in (0, 1] (0: 0.55 for nb201, 0.7 for mbv3, about 1-2 changed operations)")
	localTop := fs.Int("local-top", 0, "how many of the best evaluated architectures the local proposals start from (0: 10)")
	conc := fs.Int("concurrency", 1, "evaluations run at once")
	retries := fs.Int("retries", 1, "extra attempts for a failed evaluation")
	evalCmd := fs.String("eval-cmd", "", "evaluate with an external command instead of the NB201 table: a shell command line that gets the architecture string as its last argument and prints the accuracy (last number of its last line); --task then only names the run")
	timeout := fs.Duration("timeout", 0, "per-attempt time limit for --eval-cmd (0: none)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *methods == "" {
		return usageError("--method is required")
	}
	if *out == "" {
		return usageError("--out is required")
	}
	if *budget < 1 || *batch < 1 {
		return usageError("--budget %d and --batch %d must be positive", *budget, *batch)
	}
	seedList, err := parseSeeds(*seeds)
	if err != nil {
		return usageError("--seeds: %v", err)
	}
	if *space != "nb201" && *space != "mbv3" {
		return usageError("--space %q: want nb201 or mbv3", *space)
	}
	var t bo.Task
	if *space == "nb201" {
		if t, err = bo.NB201Task(*task, *search); err != nil {
			return usageError("%v", err)
		}
	} else {
		set := setFlags(fs)
		if set["task"] || set["search"] || set["bench"] {
			return usageError("--task, --search and --bench are for --space nb201; --space mbv3 searches in1k (OFA's predictor at r = 224)")
		}
		t = bo.MBV3Task()
	}
	a, err := bo.ParseAcquisition(*acq)
	if err != nil {
		return usageError("--acq: %v", err)
	}
	names := strings.Split(*methods, ",")
	for _, m := range names {
		if !contains(bo.MethodNames, m) {
			return usageError("--method %q: want one of %s", m, strings.Join(bo.MethodNames, ", "))
		}
	}
	opts := d
	opts.Acq, opts.Init, opts.Steps, opts.Scale, opts.Ratio = a, *nInit, *steps, *scale, *ratio
	opts.GNN.Members = *members
	if *localFrac == 0 && (*localStart != 0 || *localTop != 0) {
		return usageError("--local-start and --local-top apply to --local-frac > 0")
	}
	if *localFrac != 0 {
		if !(*localFrac > 0 && *localFrac <= 1) || *localStart < 0 || *localStart > 1 || *localTop < 0 {
			return usageError("--local-frac %g must lie in (0, 1], --local-start %g in [0, 1], --local-top %d >= 0", *localFrac, *localStart, *localTop)
		}
		opts.LocalFrac, opts.LocalStart, opts.LocalTop = *localFrac, *localStart, *localTop
		if opts.LocalStart == 0 {
			opts.LocalStart = map[string]float64{"nb201": 0.55, "mbv3": 0.7}[*space]
		}
	}
	switch *decode {
	case bo.DecodeProject, bo.DecodeArgmax, bo.DecodeThreshold:
		opts.Decode = *decode
	default:
		return usageError("--decode %q: want project, argmax or threshold", *decode)
	}
	if *warm != "" && *space != "nb201" {
		return usageError("--warm-start: the meta-trained predictor is an NB201 model")
	}
	switch *warm {
	case "":
	case "embedded":
		if opts.WarmStart, err = predictor.LoadBytes(assets.PredictorNB201Bytes()); err != nil {
			return fmt.Errorf("embedded predictor: %w", err)
		}
	default:
		if opts.WarmStart, err = predictor.Load(*warm); err != nil {
			return err
		}
	}
	r := boRun{e: e, names: names, seeds: seedList, opts: opts, out: *out, force: *force, pool: *pool,
		budget: *budget, batch: *batch, conc: *conc, retries: *retries}
	command := func() *evaluate.Command {
		return &evaluate.Command{Cmd: *evalCmd, Concurrency: *conc, Retries: *retries, Timeout: *timeout}
	}
	cmdTask := func(t bo.Task) bo.Task {
		return bo.Task{Name: t.Name, Search: "command", Test: "command",
			Note: fmt.Sprintf("evaluated by the external command %q; its accuracy is searched on and reported", *evalCmd)}
	}
	if *space == "mbv3" {
		var ev bo.Evaluator[ofa.Arch]
		if *evalCmd != "" {
			ev, t = bo.Shared[ofa.Arch]{E: command()}, cmdTask(t)
		} else {
			p, err := mbv3.LoadAccPredictor(filepath.Join(*ofaDir, mbv3.PredictorFile))
			if err != nil {
				return err
			}
			ev = bo.Shared[ofa.Arch]{E: mbv3.NewOracle(p)}
		}
		if contains(names, "diffusionnag") {
			m, err := mbv3.LoadScoreModelOrDefault(orDefault(*scoreNet))
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "score network: %s (step %d, %s weights)\n", orDefault(*scoreNet), m.Step, m.Weights)
			r.opts.Model = m
		}
		return runBOSpace[ofa.Arch](r, bo.MBV3Space{}, ev, t, 0, 0)
	}
	var ev bo.Evaluator[nb201.Arch]
	var optS, optT float64
	if *evalCmd != "" {
		ev, t = bo.Shared[nb201.Arch]{E: command()}, cmdTask(t)
	} else {
		if *bench == "" {
			return usageError("--bench is required (or set $%s)", bench201.EnvPath)
		}
		tab, err := bench201.Load(*bench)
		if err != nil {
			return err
		}
		te, err := bo.NewTableEvaluator(tab, t)
		if err != nil {
			return err
		}
		ev = te
		optS, optT = te.Optima()
	}
	if contains(names, "diffusionnag") {
		m, err := loadScoreNet(*scoreNet)
		if err != nil {
			return err
		}
		name := *scoreNet
		if name == "" || name == "default" {
			name = "embedded scorenet_nb201_small.ckpt"
		}
		fmt.Fprintf(e.stderr, "score network: %s (step %d, %s weights)\n", name, m.Step, m.Weights)
		r.opts.Model = m
	}
	return runBOSpace[nb201.Arch](r, bo.NB201Space{}, ev, t, optS, optT)
}

// orDefault maps an empty checkpoint flag to "default" (the embedded one).
func orDefault(path string) string {
	if path == "" {
		return "default"
	}
	return path
}

// boRun holds the parsed settings of nag bo shared by every space.
type boRun struct {
	e                                  *env
	names                              []string
	seeds                              []uint64
	opts                               bo.MethodOptions
	out                                string
	force                              bool
	pool, budget, batch, conc, retries int
}

// runBOSpace runs every method and seed of r in space sp, writing one record
// per run (existing records are skipped unless r.force).
func runBOSpace[A bo.Arch](r boRun, sp bo.Space[A], ev bo.Evaluator[A], t bo.Task, optS, optT float64) error {
	e := r.e
	if err := os.MkdirAll(r.out, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Fprintf(e.stderr, "task %s: %s\n", t.Name, t.Note)
	total := len(r.names) * len(r.seeds)
	k := 0
	for _, name := range r.names {
		mo := r.opts
		if r.pool > 0 {
			mo.Pool = r.pool
		} else if name == "diffusionnag" {
			mo.Pool = 128
		}
		for _, seed := range r.seeds {
			k++
			label := bo.MethodLabel(name, mo)
			path := filepath.Join(r.out, bo.RecordFileName(label, t.Name+searchSuffix(t), seed))
			if _, err := os.Stat(path); err == nil && !r.force {
				fmt.Fprintf(e.stderr, "[%d/%d] %s seed %d: %s exists, skipped\n", k, total, label, seed, path)
				continue
			}
			m, settings, err := bo.NewMethod(sp, name, mo, seed)
			if err != nil {
				return usageError("%v", err)
			}
			bar := progress.New(e.stderr, fmt.Sprintf("[%d/%d] %s %s seed %d", k, total, label, t.Name, seed), r.budget, 0, progress.Options{})
			cfg := bo.Config{Budget: r.budget, Batch: r.batch, Seed: seed, Concurrency: r.conc, Retries: r.retries,
				OptimumSearch: optS, OptimumTest: optT, Settings: settings,
				Progress: func(done int, rec *bo.Record) {
					bar.Update(done, "best_value", float64(rec.IncumbentVal), "incumbent_test", float64(rec.IncumbentTest))
				}}
			rec, err := bo.Run(ctx, sp, m, ev, t, cfg)
			if err != nil {
				bar.Finish(len(rec.Evals))
				return fmt.Errorf("%s seed %d: %w", name, seed, err)
			}
			bar.Finish(len(rec.Evals), "incumbent_test", float64(rec.IncumbentTest), "wall_s", math.Round(rec.WallSeconds*10)/10)
			if err := bo.WriteRecord(path, rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// searchSuffix distinguishes records of non-default search signals in file names.
func searchSuffix(t bo.Task) string {
	if t.Search == "command" {
		return "-cmd"
	}
	if t.Search == bo.MBV3Task().Search {
		return ""
	}
	def, _ := bo.NB201Task(t.Name, "")
	if t.Search == def.Search {
		return ""
	}
	return "-" + t.Search
}

func runBOReport(e *env, args []string) error {
	fs := newFlags(e, "bo report", "DIR [--png PREFIX] [--json]")
	png := fs.String("png", "", "plot file prefix (default DIR/curves): one PNG per task, PREFIX-TASK.png")
	asJSON := fs.Bool("json", false, "print the summaries as JSON instead of Markdown tables")
	budgets := fs.String("at", "10,25,50,100,200", "evaluation counts to tabulate")
	// Accept the directory before or after the flags.
	var dir string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dir, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError("%v", err)
	}
	if dir == "" && fs.NArg() > 0 {
		dir = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if dir == "" {
		return usageError("missing the record directory")
	}
	var at []int
	for _, s := range strings.Split(*budgets, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return usageError("--at %q: want positive integers", *budgets)
		}
		at = append(at, n)
	}
	recs, err := bo.ReadRecords(dir)
	if err != nil {
		return err
	}
	sums := bo.Aggregate(recs, at)
	if *asJSON {
		b, err := json.MarshalIndent(sums, "", "  ")
		if err != nil {
			return fmt.Errorf("encode summaries: %w", err)
		}
		if _, err := fmt.Fprintf(e.stdout, "%s\n", b); err != nil {
			return err
		}
	} else if err := bo.WriteTable(e.stdout, sums); err != nil {
		return err
	}
	prefix := *png
	if prefix == "" {
		prefix = filepath.Join(dir, "curves")
	}
	done := map[string]bool{}
	for _, s := range sums {
		key := s.Task + "/" + s.Search
		if done[key] {
			continue
		}
		done[key] = true
		t := bo.Task{Name: s.Task, Search: s.Search}
		path := fmt.Sprintf("%s-%s%s.png", prefix, s.Task, searchSuffix(t))
		if err := bo.PlotCurves(path, recs, s.Task, s.Search, s.Note); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "wrote %s\n", path)
	}
	return nil
}

// parseSeeds reads "3", "0-9" or comma lists of both.
func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	seen := map[uint64]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a seed or range", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 64); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a valid range A-B with A <= B", part)
			}
			if b-a > 100000 {
				return nil, fmt.Errorf("range %q is too large", part)
			}
		}
		for v := a; v <= b; v++ {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
