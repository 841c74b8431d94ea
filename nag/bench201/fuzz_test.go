package bench201

import (
	"bufio"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nagml/nag/internal/shareddata"
)

// FuzzRead: arbitrary CSV text is either a table or an error naming the
// problem, never a panic. Seeds: a header and rows of the real table when
// the shared data is present, and a few hand-made lines.
func FuzzRead(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("index,arch_str,ops,iso_index\n"))
	f.Add([]byte("index,arch_str,ops,iso_index,c10_test\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,000000,0,10.5\n"))
	if root, ok := shareddata.Find(); ok {
		if fh, err := os.Open(filepath.Join(root, "nasbench201", "nb201.csv.gz")); err == nil {
			defer fh.Close()
			if zr, err := gzip.NewReader(fh); err == nil {
				sc := bufio.NewScanner(zr)
				sc.Buffer(make([]byte, 1<<20), 1<<20)
				var lines []string
				for len(lines) < 3 && sc.Scan() {
					lines = append(lines, sc.Text())
				}
				f.Add([]byte(strings.Join(lines, "\n") + "\n"))
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, err := Read(strings.NewReader(string(b)), "fuzz.csv")
		if err == nil && tab == nil {
			t.Fatal("nil table without an error")
		}
	})
}
