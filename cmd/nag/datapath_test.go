package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDefaultNB201 checks the NB201 table default every command shares:
// $NAG_NB201 wins, else the table under $NAG_DATA when it exists, else none.
func TestDefaultNB201(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "nasbench201", "nb201.csv.gz")
	if err := os.MkdirAll(filepath.Dir(table), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(table, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	cases := []struct {
		name, nb201, data, want string
	}{
		{"NAG_NB201 wins", "/elsewhere/t.csv.gz", dir, "/elsewhere/t.csv.gz"},
		{"table under NAG_DATA", "", dir, table},
		{"NAG_DATA without the table", "", empty, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("NAG_NB201", c.nb201)
			t.Setenv("NAG_DATA", c.data)
			if got := defaultNB201(); got != c.want {
				t.Errorf("defaultNB201() = %q, want %q", got, c.want)
			}
			if got := findBenchTable("flag.csv.gz"); got != "flag.csv.gz" {
				t.Errorf("findBenchTable(flag) = %q, want the flag", got)
			}
		})
	}
}
