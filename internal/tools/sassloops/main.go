// Command sassloops is a static look at the machine code of nag's CUDA
// kernels without a GPU: it assembles PTX for a real architecture with ptxas
// (register and spill counts), disassembles it with cuobjdump (which needs
// nvdisasm on PATH; scripts/install-cuda-build-deps.sh installs both) and, for
// each kernel, lists its hot loops — backward branches whose body holds at
// least -min-ffma FFMA instructions — with the FFMA share of the loop's
// instructions and the other opcodes it issues.
//
// A GEMM main loop is a straight run of FFMAs plus the loads, stores and
// bookkeeping that feed them; one warp scheduler issues one instruction per
// cycle, so the FFMA share of an issue-bound loop bounds the fraction of the
// FP32 peak it can reach. The share counts every instruction in the loop,
// including those on branches a launch may never take.
//
//	go run ./internal/tools/sassloops [-arch sm_90] [-kernel sgemm_] [-min-ffma 256] [file.ptx ...]
//
// Without files it reads kernels/ptx/gemm.ptx and gemm_fast.ptx.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sassloops:", err)
		os.Exit(1)
	}
}

func run(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("sassloops", flag.ContinueOnError)
	arch := fs.String("arch", "sm_90", "GPU architecture to assemble for (sm_80 = A100, sm_90 = H100/H200)")
	kernel := fs.String("kernel", "", "only kernels whose name contains this")
	minFFMA := fs.Int("min-ffma", 256, "smallest FFMA count of a loop to report")
	if err := fs.Parse(args); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{filepath.Join("kernels", "ptx", "gemm.ptx"), filepath.Join("kernels", "ptx", "gemm_fast.ptx")}
	}
	for _, f := range files {
		if err := report(f, *arch, *kernel, *minFFMA, w); err != nil {
			return err
		}
	}
	return nil
}

func report(ptx, arch, kernel string, minFFMA int, w io.Writer) error {
	tmp, err := os.MkdirTemp("", "sassloops")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cubin := filepath.Join(tmp, "k.cubin")
	info, err := tool("ptxas", "-arch="+arch, "-v", "-o", cubin, ptx)
	if err != nil {
		return fmt.Errorf("ptxas %s: %w", ptx, err)
	}
	sass, err := tool("cuobjdump", "-sass", cubin)
	if err != nil {
		return fmt.Errorf("cuobjdump (is nvdisasm on PATH?): %w", err)
	}
	res := ParseResources(info)
	fmt.Fprintf(w, "%s for %s\n", ptx, arch)
	for _, f := range ParseSASS(sass) {
		if !strings.Contains(f.Name, kernel) {
			continue
		}
		r := res[f.Name]
		fmt.Fprintf(w, "%s: %d instructions, %d registers, %d B spill stores, %d B spill loads\n",
			f.Name, len(f.Instrs), r.Registers, r.SpillStores, r.SpillLoads)
		for _, l := range f.Loops(minFFMA) {
			fmt.Fprintf(w, "  loop of %d: FFMA %d (%.1f %%) | %s\n", l.Len, l.FFMA, 100*float64(l.FFMA)/float64(l.Len), l.Others(12))
		}
	}
	return nil
}

// toolkitBin is the folder of the CUDA toolkit's binaries: where ptxas is on
// PATH, else $CUDA_PATH/bin or /usr/local/cuda/bin.
func toolkitBin() string {
	if p, err := exec.LookPath("ptxas"); err == nil {
		return filepath.Dir(p)
	}
	for _, d := range []string{filepath.Join(os.Getenv("CUDA_PATH"), "bin"), "/usr/local/cuda/bin"} {
		if _, err := os.Stat(filepath.Join(d, "ptxas")); err == nil {
			return d
		}
	}
	return ""
}

// tool runs a CUDA toolkit binary (with the toolkit's folder first on PATH,
// where cuobjdump looks for nvdisasm) and returns its combined output.
func tool(name string, args ...string) (string, error) {
	var out bytes.Buffer
	bin := toolkitBin()
	if bin == "" {
		return "", fmt.Errorf("no CUDA toolkit found (ptxas not on PATH, nor in $CUDA_PATH/bin or /usr/local/cuda/bin): run scripts/install-cuda-build-deps.sh")
	}
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// Resources are ptxas -v's numbers for one kernel.
type Resources struct {
	Registers, SpillStores, SpillLoads int
}

var (
	reEntry = regexp.MustCompile(`Compiling entry function '([^']+)'`)
	reSpill = regexp.MustCompile(`(\d+) bytes spill stores, (\d+) bytes spill loads`)
	reRegs  = regexp.MustCompile(`Used (\d+) registers`)
)

// ParseResources reads ptxas -v output into per-kernel resources.
func ParseResources(s string) map[string]Resources {
	out := map[string]Resources{}
	name := ""
	for _, line := range strings.Split(s, "\n") {
		if m := reEntry.FindStringSubmatch(line); m != nil {
			name = m[1]
			continue
		}
		if name == "" {
			continue
		}
		r := out[name]
		if m := reSpill.FindStringSubmatch(line); m != nil {
			r.SpillStores, _ = strconv.Atoi(m[1])
			r.SpillLoads, _ = strconv.Atoi(m[2])
		}
		if m := reRegs.FindStringSubmatch(line); m != nil {
			r.Registers, _ = strconv.Atoi(m[1])
		}
		out[name] = r
	}
	return out
}

// Func is one kernel's disassembly: its instructions in address order
// (predicate and operands included, ';' dropped) and each address's index.
type Func struct {
	Name   string
	Instrs []string
	index  map[int64]int
}

var (
	reFunc  = regexp.MustCompile(`^\s*Function : (\S+)`)
	reInstr = regexp.MustCompile(`^\s*/\*([0-9a-f]{4,})\*/\s+([^;]*);`)
	reBra   = regexp.MustCompile(`\bBRA\b[^;]*?(0x[0-9a-f]+)`)
	rePred  = regexp.MustCompile(`^@!?U?P[T0-9]+\s+`)
)

// ParseSASS splits cuobjdump -sass output into functions.
func ParseSASS(s string) []*Func {
	var fs []*Func
	var cur *Func
	for _, line := range strings.Split(s, "\n") {
		if m := reFunc.FindStringSubmatch(line); m != nil {
			cur = &Func{Name: m[1], index: map[int64]int{}}
			fs = append(fs, cur)
			continue
		}
		if cur == nil {
			continue
		}
		if m := reInstr.FindStringSubmatch(line); m != nil {
			a, err := strconv.ParseInt(m[1], 16, 64)
			if err != nil {
				continue
			}
			cur.index[a] = len(cur.Instrs)
			cur.Instrs = append(cur.Instrs, strings.TrimSpace(m[2]))
		}
	}
	return fs
}

// Loop is the body of one backward branch: instructions [Start, End].
type Loop struct {
	Start, End, Len, FFMA int
	Ops                   map[string]int // opcode (without modifiers) -> count, FFMA included
}

// Opcode is an instruction's operation without predicate or modifiers
// ("@!P0 LDG.E.128 R4, [R2.64]" -> "LDG").
func Opcode(instr string) string {
	instr = rePred.ReplaceAllString(instr, "")
	op, _, _ := strings.Cut(instr, " ")
	op, _, _ = strings.Cut(op, ".")
	return op
}

// Loops returns the bodies of the function's backward branches that hold at
// least minFFMA FFMA instructions, in address order.
func (f *Func) Loops(minFFMA int) []Loop {
	var out []Loop
	for i, in := range f.Instrs {
		m := reBra.FindStringSubmatch(in)
		if m == nil || Opcode(in) != "BRA" {
			continue
		}
		a, err := strconv.ParseInt(m[1], 0, 64)
		if err != nil {
			continue
		}
		start, ok := f.index[a]
		if !ok || start > i {
			continue
		}
		l := Loop{Start: start, End: i, Len: i - start + 1, Ops: map[string]int{}}
		for _, x := range f.Instrs[start : i+1] {
			l.Ops[Opcode(x)]++
		}
		l.FFMA = l.Ops["FFMA"]
		if l.FFMA >= minFFMA {
			out = append(out, l)
		}
	}
	return out
}

// Others lists the loop's n most frequent opcodes other than FFMA as
// "OP:count" (ties by name).
func (l Loop) Others(n int) string {
	type kv struct {
		op string
		n  int
	}
	var all []kv
	for op, c := range l.Ops {
		if op != "FFMA" {
			all = append(all, kv{op, c})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].n != all[j].n {
			return all[i].n > all[j].n
		}
		return all[i].op < all[j].op
	})
	var parts []string
	for i, e := range all {
		if i == n {
			break
		}
		parts = append(parts, fmt.Sprintf("%s:%d", e.op, e.n))
	}
	return strings.Join(parts, " ")
}
