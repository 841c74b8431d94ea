package torchpt

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nlpodyssey/gopickle/pickle"
)

func TestCheckPickle(t *testing.T) {
	cases := []struct {
		name, in string
		n        int    // pickle length when valid
		want     string // error substring when invalid
	}{
		{"int", "\x80\x02K\x05.", 5, ""},
		{"dict", "\x80\x02}q\x00X\x01\x00\x00\x00aK\x01s.", 15, ""},
		{"stops at the first STOP", "\x80\x02N.trailing", 4, ""},
		{"protocol 0 lines", "(lp0\nI1\naS'x'\np1\na.", 19, ""},
		{"global", "ccollections\nOrderedDict\n)R.", 28, ""},
		{"frame", "\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00K\x01.", 14, ""},
		{"BINBYTES8 of 2^40", "\x80\x04\x8e\x00\x00\x00\x00\x00\x01\x00\x00", 0, "needs 1099511627776 bytes"},
		{"BINUNICODE cut off", "X\x05\x00\x00\x00ab", 0, "needs 5 bytes, 2 left"},
		{"negative BINSTRING", "T\xff\xff\xff\xff", 0, "negative length"},
		{"frame too long", "\x95\xff\x00\x00\x00\x00\x00\x00\x00K\x01.", 0, "frame"},
		{"unterminated line", "I123", 0, "not terminated"},
		{"unknown opcode", "\x80\x02\xff.", 0, "unknown pickle opcode 0xff"},
		{"no STOP", "\x80\x02K\x05", 0, "without STOP"},
		{"empty", "", 0, "without STOP"},
	}
	for _, c := range cases {
		n, err := checkPickle([]byte(c.in))
		if c.want == "" {
			if err != nil || n != c.n {
				t.Errorf("%s: checkPickle = %d, %v; want %d, nil", c.name, n, err, c.n)
			}
			// The walk agrees with gopickle: it reads the same pickle.
			u := pickle.NewUnpickler(bytes.NewReader([]byte(c.in)))
			if _, err := u.Load(); err != nil {
				t.Errorf("%s: gopickle rejects it: %v", c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
