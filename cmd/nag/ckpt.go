package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/nagml/nag/nag/ckpt"
)

// runCkpt dispatches `nag ckpt inspect|verify`.
func runCkpt(e *env, args []string) error {
	const synopsis = "inspect|verify [flags] FILE"
	if len(args) == 0 {
		return usageError("missing subcommand (want: nag ckpt %s)", synopsis)
	}
	switch args[0] {
	case "inspect":
		return runCkptInspect(e, args[1:])
	case "verify":
		return runCkptVerify(e, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(e.stdout, "Usage: nag ckpt %s\n\n  inspect  print the header and the tensor list of a checkpoint\n  verify   check a checkpoint's integrity (exit 0 if intact, 1 otherwise)\n", synopsis)
		return nil
	}
	return usageError("unknown subcommand %q (want inspect or verify)", args[0])
}

// ckptFlags parses flags followed by exactly one FILE argument.
func ckptFlags(e *env, name string, args []string) (kind, file string, err error) {
	fs := newFlags(e, "ckpt "+name, "[-kind KIND] FILE")
	fs.StringVar(&kind, "kind", "", "fail unless the checkpoint holds this model kind")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return "", "", err
		}
		return "", "", usageError("%v", err)
	}
	switch fs.NArg() {
	case 0:
		return "", "", usageError("missing checkpoint FILE")
	case 1:
		return kind, fs.Arg(0), nil
	}
	return "", "", usageError("expected one FILE, got %d arguments", fs.NArg())
}

func runCkptVerify(e *env, args []string) error {
	kind, file, err := ckptFlags(e, "verify", args)
	if err != nil {
		return err
	}
	c, err := ckpt.ReadFile(file, kind)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ok: %s (kind %s, step %d, %d entries, %d parameters)\n", file, c.Kind, c.Step, len(c.Entries), c.NumParams())
	return nil
}

func runCkptInspect(e *env, args []string) error {
	kind, file, err := ckptFlags(e, "inspect", args)
	if err != nil {
		return err
	}
	c, err := ckpt.ReadFile(file, kind)
	if err != nil {
		return err
	}
	w := e.stdout
	fmt.Fprintf(w, "file:     %s\n", file)
	fmt.Fprintf(w, "format:   nag checkpoint v%d\n", ckpt.Version)
	fmt.Fprintf(w, "kind:     %s\n", c.Kind)
	fmt.Fprintf(w, "seed:     %d\n", c.Seed)
	fmt.Fprintf(w, "step:     %d\n", c.Step)
	fmt.Fprintf(w, "rng:      %d bytes\n", len(c.RNG))
	if len(c.Config) == 0 || string(c.Config) == "null" {
		fmt.Fprintf(w, "config:   (none)\n")
	} else {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, c.Config, "  ", "  "); err != nil {
			return fmt.Errorf("%s: config: %w", file, err)
		}
		fmt.Fprintf(w, "config:\n  %s\n", pretty.String())
	}
	keys := make([]string, 0, len(c.Meta))
	for k := range c.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		fmt.Fprintf(w, "metadata: (none)\n")
	} else {
		fmt.Fprintf(w, "metadata:\n")
		for _, k := range keys {
			v := c.Meta[k]
			if len(v) > 60 {
				v = v[:57] + "..."
			}
			fmt.Fprintf(w, "  %s = %q\n", k, v)
		}
	}
	fmt.Fprintf(w, "entries:  %d\n", len(c.Entries))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  NAME\tTYPE\tSHAPE\tCOUNT\n")
	var f32 int
	for i := range c.Entries {
		en := &c.Entries[i]
		if en.DType == ckpt.Float32 {
			f32 += en.Len()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\n", en.Name, en.DType, shapeString(en.Shape), en.Len())
	}
	tw.Flush()
	fmt.Fprintf(w, "parameters: %d (float32 entries named %s*)\n", c.NumParams(), ckpt.PrefixParams)
	fmt.Fprintf(w, "float32 values in all entries: %d\n", f32)
	return nil
}

func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
