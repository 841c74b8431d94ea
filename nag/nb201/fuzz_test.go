package nb201

import "testing"

// FuzzParse: any input either fails with an error or parses to a cell whose
// string and op code parse back to the same cell (no panics, no lossy
// round trip).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
		"|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
		"|none~0|+|", "", "||", "|nor_conv_3x3~9|+|", "012340", "0123",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) (Arch, error){Parse, ParseCode} {
			a, err := parse(s)
			if err != nil {
				continue
			}
			if b, err := Parse(a.String()); err != nil || b != a {
				t.Fatalf("%q -> %v: String %q parses to %v, %v", s, a, a.String(), b, err)
			}
			if b, err := ParseCode(a.Code()); err != nil || b != a {
				t.Fatalf("%q -> %v: Code %q parses to %v, %v", s, a, a.Code(), b, err)
			}
		}
	})
}
