package bench201

import (
	"math"
	"strconv"
	"testing"

	"github.com/nagml/nag/tensor"
)

func TestParseFloat(t *testing.T) {
	cases := []string{"0", "1.5", "-2.25", "85.86333333333334", "24.226614330768584", "0.000123",
		"9007199254740993", "1e5", "1.5E-3", "-0", "123456789012345678901", ".5", "5.", "0.1", "9", "1000000.000001"}
	rng := tensor.NewRNG(1)
	for i := 0; i < 20000; i++ {
		v := rng.Float64() * math.Pow(10, float64(rng.IntN(8)-2))
		cases = append(cases, strconv.FormatFloat(v, 'f', -1, 64), strconv.FormatFloat(v, 'f', rng.IntN(12), 64))
	}
	for _, s := range cases {
		want, werr := strconv.ParseFloat(s, 64)
		got, err := parseFloat([]byte(s))
		if (err != nil) != (werr != nil) || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parseFloat(%q) = %v, %v; strconv %v, %v", s, got, err, want, werr)
		}
	}
	for _, s := range []string{"", "-", "abc", "1.2.3", "1,5", "nan1"} {
		if _, err := parseFloat([]byte(s)); err == nil {
			t.Errorf("parseFloat(%q) accepted", s)
		}
	}
}
