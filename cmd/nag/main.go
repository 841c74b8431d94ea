// Command nag generates neural architectures with a predictor-guided
// diffusion model (DiffusionNAG) and searches with it.
//
// Run `nag help` for the list of subcommands and `nag CMD -h` for the flags
// of one.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// version is the nag release; overridden at link time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// env carries the process streams to a subcommand so commands are testable.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
}

// command is one subcommand. run parses args itself (use newFlags) and
// returns errUsage-wrapped errors for bad flags.
type command struct {
	name    string
	summary string
	run     func(e *env, args []string) error
}

// errUsage marks an error as a usage problem (exit code 2).
var errUsage = errors.New("usage")

// usageError wraps a message as a usage error.
func usageError(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
}

// commands is the table of subcommands. Add one line per subcommand.
func commands() []command {
	return []command{
		{"version", "print the nag version", runVersion},
		{"bench", "time the paper configuration (forward, training, sampling steps)", runBench},
		{"help", "list subcommands", nil},
		{"train-score", "train the diffusion score network (CATE) on a search space", runTrainScore},
		{"sample", "sample architectures from a trained score network (default: the embedded NB201 one)", runSample},
		{"eval", "score generated architectures: validity, uniqueness, novelty, benchmark accuracy", runEval},
		{"encode-dataset", "encode an image set into per-class CNN features (dataset encoding)", runEncodeDataset},
		{"ckpt", "inspect or verify a checkpoint file", runCkpt},
		{"bo", "BO-based NAS on NB201 (DiffusionNAG and baselines); 'bo report DIR' aggregates runs", runBO},
		{"train-predictor", "train the noise-aware meta-predictor (official labels, NB201 column or task file)", runTrainPredictor},
		{"generate", "generate architectures with predictor-guided diffusion (JSONL sorted by predicted accuracy)", runGenerate},
		{"transfer", "transferable NAS: generate, rank by the predictor, evaluate the top k (NB201 table or external command)", runTransfer},
		{"default", "generate for CIFAR-10 with the embedded checkpoints (what `nag` runs without arguments)", runDefault},
		{"hw-train", "train a noise-aware latency/cost regressor for hardware-aware guidance", runHWTrain},
		{"hw-eval", "hardware-aware guidance vs accuracy-only guidance and random sampling under latency budgets (NB201)", runHWEval},
		{"mbv3-train-score", "train the score network on the OFA MobileNetV3 space", runMBV3TrainScore},
		{"mbv3-sample", "sample OFA MobileNetV3 networks: validity, uniqueness, choice distribution vs training", runMBV3Sample},
		{"mbv3-ofa", "convert OFA MobileNetV3 architecture strings to OFA's set_active_subnet lists (ks, e, d) as JSON lines", runMBV3OFA},
		{"mbv3-hw-eval", "hardware-aware guidance on OFA MobileNetV3 (FLOPs, params, GPU latency; surrogate accuracy)", runMBV3HWEval},
	}
}

func main() {
	stop, err := startProfile(os.Getenv(envCPUProfile))
	if err != nil {
		fmt.Fprintf(os.Stderr, "nag: $%s: %v\n", envCPUProfile, err)
		os.Exit(1)
	}
	code := run(&env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin}, os.Args[1:])
	if err := stop(); err != nil {
		fmt.Fprintf(os.Stderr, "nag: $%s: %v\n", envCPUProfile, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// run dispatches args and returns the process exit code.
func run(e *env, args []string) int {
	cmds := commands()
	if len(args) == 0 {
		if c, ok := find(cmds, "default"); ok {
			return exitCode(e, "nag", c.run(e, nil))
		}
		printHelp(e.stderr, cmds)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help", "-help":
		printHelp(e.stdout, cmds)
		return 0
	}
	c, ok := find(cmds, name)
	if !ok || c.run == nil {
		fmt.Fprintf(e.stderr, "nag: unknown command %q\n\n", name)
		printHelp(e.stderr, cmds)
		return 2
	}
	return exitCode(e, "nag "+name, c.run(e, args[1:]))
}

func find(cmds []command, name string) (command, bool) {
	for _, c := range cmds {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func exitCode(e *env, who string, err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(e.stderr, "%s: %v\n(run '%s -h' for help)\n", who, err, who)
		return 2
	default:
		fmt.Fprintf(e.stderr, "%s: %v\n", who, err)
		return 1
	}
}

func printHelp(w io.Writer, cmds []command) {
	fmt.Fprintf(w, "nag %s: predictor-guided neural architecture generation (DiffusionNAG)\n\nUsage: nag <command> [flags]\n\nCommands:\n", version)
	sorted := append([]command(nil), cmds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		if c.name == "default" {
			continue
		}
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'nag <command> -h' for a command's flags.\n")
}

// newFlags returns a FlagSet that reports errors instead of exiting and
// prints its usage to e.stderr.
func newFlags(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("nag "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: nag %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning flag errors into usage errors. It returns
// flag.ErrHelp (exit 0) for -h.
func parseFlags(fs *flag.FlagSet, args []string) error { return parseFlagsArgs(fs, args, 0) }

// parseFlagsArgs is parseFlags for a command that takes up to maxArgs
// positional arguments after its flags (fs.Args).
func parseFlagsArgs(fs *flag.FlagSet, args []string, maxArgs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError("%v", err)
	}
	if fs.NArg() > maxArgs {
		return usageError("unexpected argument %q", fs.Arg(maxArgs))
	}
	return nil
}

func runVersion(e *env, args []string) error {
	fs := newFlags(e, "version", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "nag %s\n", version)
	return nil
}

// envOr returns the environment variable's value, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// setFlags returns the names of the flags given on the command line (to tell
// an explicit value from a default).
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}
