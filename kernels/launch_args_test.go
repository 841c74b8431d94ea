package kernels

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// kernelParamKinds parses the extern "C" __global__ kernels of the .cu files and
// returns, per kernel, the kargs helper each parameter needs: p (pointer), i
// (int), f (float), i64 (long long), u64 (unsigned long long).
func kernelParamKinds(t *testing.T) map[string][]string {
	t.Helper()
	files, _ := filepath.Glob("*.cu")
	sig := regexp.MustCompile(`(?s)extern "C" __global__ void\s+(?:__launch_bounds__\(\d+(?:,\s*\d+)?\)\s*)?(\w+)\s*\(([^)]*)\)`)
	out := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range sig.FindAllStringSubmatch(string(b), -1) {
			var kinds []string
			for _, p := range strings.Split(m[2], ",") {
				p = strings.Join(strings.Fields(p), " ")
				switch {
				case strings.Contains(p, "*"):
					kinds = append(kinds, "p")
				case strings.HasPrefix(p, "unsigned long long "):
					kinds = append(kinds, "u64")
				case strings.HasPrefix(p, "long long "):
					kinds = append(kinds, "i64")
				case strings.HasPrefix(p, "float "):
					kinds = append(kinds, "f")
				case strings.HasPrefix(p, "int "):
					kinds = append(kinds, "i")
				default:
					t.Errorf("%s: kernel %s parameter %q has a type the launch convention does not allow", f, m[1], p)
				}
			}
			out[m[1]] = kinds
		}
	}
	return out
}

// kargsChain returns the helper names of a new(kargs).a(..).b(..) chain in order.
func kargsChain(e ast.Expr) ([]string, bool) {
	var rev []string
	for {
		call, ok := e.(*ast.CallExpr)
		if !ok {
			return nil, false
		}
		if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "new" {
			break
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return nil, false
		}
		rev = append(rev, sel.Sel.Name)
		e = sel.X
	}
	out := make([]string, len(rev))
	for i, n := range rev {
		out[len(rev)-1-i] = n
	}
	return out, true
}

// TestLaunchArgsMatchKernels checks, without a GPU, that every d.launch call in
// the cuda-tagged Go files passes as many arguments as the kernel declares and
// packs each with the helper of its declared type (a mismatch would silently
// hand the kernel garbage: see the launch convention in doc.go).
func TestLaunchArgsMatchKernels(t *testing.T) {
	kinds := kernelParamKinds(t)
	if len(kinds) < 25 {
		t.Fatalf("parsed %d kernels from the .cu files, expected at least 25", len(kinds))
	}
	files, _ := filepath.Glob("*_cuda.go")
	fset := token.NewFileSet()
	seen := map[string]bool{}
	calls := 0
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			args := call.Args
			if sel.Sel.Name == "launchTagged" && len(args) == 6 {
				if _, fwd := args[5].(*ast.Ident); fwd {
					return true // launch forwarding its own arguments
				}
				args = args[1:] // the profile tag, then launch's arguments
			} else if sel.Sel.Name != "launch" || len(args) != 5 {
				return true
			}
			calls++
			pos := fset.Position(call.Pos())
			var names []string
			switch a := args[0].(type) {
			case *ast.BasicLit:
				names = []string{strings.Trim(a.Value, `"`)}
			case *ast.SelectorExpr: // the GEMM launcher picks one of eight kernels of equal signature
				names = []string{"sgemm_small", "sgemm_tiled", "sgemm_128", "sgemm_128x64", "sgemm_tf32", "sgemm_128v", "sgemm_128x64v", "sgemm_128v16", "sgemm_128x64v16"}
			default:
				t.Errorf("%s: launch with a kernel name the test cannot read", pos)
				return true
			}
			chain, ok := kargsChain(args[4])
			if !ok {
				t.Errorf("%s: launch arguments are not a new(kargs)... chain", pos)
				return true
			}
			for _, name := range names {
				seen[name] = true
				want, ok := kinds[name]
				if !ok {
					t.Errorf("%s: kernel %s is not defined in the .cu files", pos, name)
					continue
				}
				if strings.Join(chain, ",") != strings.Join(want, ",") {
					t.Errorf("%s: %s packed as (%s), kernel declares (%s)", pos, name, strings.Join(chain, ","), strings.Join(want, ","))
				}
			}
			return true
		})
	}
	if calls == 0 {
		t.Fatal("no launch calls found in *_cuda.go")
	}
	for k := range kinds {
		if !seen[k] {
			t.Errorf("kernel %s has no launcher in the Go code", k)
		}
	}
}
