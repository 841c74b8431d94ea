package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nagml/nag/nag/ofa"
)

// ofaSubnet is one architecture in OFA's terms: the keyword arguments of
// OFAMobileNetV3.set_active_subnet(ks=..., e=..., d=...).
type ofaSubnet struct {
	Arch string `json:"arch"`
	KS   []int  `json:"ks"`
	E    []int  `json:"e"`
	D    []int  `json:"d"`
}

// runMBV3OFA converts OFA MobileNetV3 architecture strings (one per line,
// from a file or stdin) to OFA's set_active_subnet lists, one JSON object
// per line. The slots of skipped layers (beyond a stage's depth), which OFA
// ignores, get kernel 3 and expand 3 so every value is a valid choice.
func runMBV3OFA(e *env, args []string) error {
	fs := newFlags(e, "mbv3-ofa", "[FILE | -]   (architecture strings, one per line; stdin when absent or -)")
	if err := parseFlagsArgs(fs, args, 1); err != nil {
		return err
	}
	var r io.Reader = e.stdin
	name := "stdin"
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		r, name = f, fs.Arg(0)
	}
	w := bufio.NewWriter(e.stdout)
	enc := json.NewEncoder(w)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		a, err := ofa.Parse(s)
		if err != nil {
			return fmt.Errorf("%s line %d: %w", name, line, err)
		}
		ks, ex, d := a.Lists()
		for i := range ks {
			if ks[i] == 0 {
				ks[i], ex[i] = 3, 3
			}
		}
		if err := enc.Encode(ofaSubnet{Arch: a.String(), KS: ks, E: ex, D: d}); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return w.Flush()
}
