package ofa

import (
	"testing"

	"github.com/nagml/nag/tensor"
)

// FuzzParse: any input either fails with an error or parses to a valid
// network whose string parses back to the same network.
func FuzzParse(f *testing.F) {
	rng := tensor.NewRNG(1)
	for i := 0; i < 4; i++ {
		f.Add(Random(rng).String())
	}
	for _, s := range []string{"", "ks=3", "{}", "3-3-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("%q parsed to an invalid network %+v: %v", s, a, err)
		}
		if b, err := Parse(a.String()); err != nil || b != a {
			t.Fatalf("%q -> %+v: String %q parses to %+v, %v", s, a, a.String(), b, err)
		}
	})
}
