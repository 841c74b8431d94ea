// Package nb201 implements the NAS-Bench-201 (NB201) cell search space as
// DiffusionNAG represents it: the cell string, the 6-digit op code, the 8x7
// one-hot node matrix the score network diffuses, the fixed adjacency and
// attention mask, decoding of continuous samples, validity, isomorphism
// classes, parameter/FLOP counts and uniform sampling.
//
// An NB201 cell has four nodes (0..3) and six edges, one per pair i<j; each
// edge carries one of five operations. In the string form
//
//	|o1~0|+|o2~0|o3~1|+|o4~0|o5~1|o6~2|
//
// the edges appear in the order (0→1), (0→2), (1→2), (0→3), (1→3), (2→3);
// Arch stores the six operations in exactly that order.
//
// The official benchmark index (0..15624) is not a closed-form function of
// the cell; it is the row order of the benchmark table (see package bench201).
package nb201

import (
	"fmt"
	"strings"
)

// Op is an edge operation in the benchmark's numbering (the `ops` column of
// nb201.csv.gz): 0 none, 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3,
// 4 avg_pool_3x3.
type Op uint8

// The five NB201 operations.
const (
	None    Op = iota // none (zero)
	Skip              // skip_connect
	Conv1x1           // nor_conv_1x1
	Conv3x3           // nor_conv_3x3
	AvgPool           // avg_pool_3x3
)

// NumOps is the number of edge operations.
const NumOps = 5

// NumEdges is the number of edges (operations) in a cell.
const NumEdges = 6

// NumArchs is the size of the search space, 5^6.
const NumArchs = 15625

var opNames = [NumOps]string{"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"}

// String returns the NB201 name of the operation, e.g. "nor_conv_3x3".
func (o Op) String() string {
	if int(o) < NumOps {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Type returns the operation's node type in the 7-entry vocabulary of the
// one-hot matrix (reference §1.1): none 2, skip 3, conv1x1 4, conv3x3 5,
// avg_pool 6.
func (o Op) Type() int { return int(o) + 2 }

// ParseOp returns the operation with the given NB201 name.
func ParseOp(name string) (Op, error) {
	for i, n := range opNames {
		if n == name {
			return Op(i), nil
		}
	}
	return 0, fmt.Errorf("nb201: unknown operation %q (want one of %s)", name, strings.Join(opNames[:], ", "))
}

// edgeFrom and edgeTo give the cell nodes each of the six edges joins, in
// string order.
var (
	edgeFrom = [NumEdges]int{0, 0, 1, 0, 1, 2}
	edgeTo   = [NumEdges]int{1, 2, 2, 3, 3, 3}
)

// EdgeNodes returns the cell nodes (from, to) joined by edge e (0..5) in
// string order: (0,1), (0,2), (1,2), (0,3), (1,3), (2,3).
func EdgeNodes(e int) (from, to int) { return edgeFrom[e], edgeTo[e] }

// Arch is one NB201 cell: the operations of the six edges in string order.
// The zero value is the all-"none" cell.
type Arch [NumEdges]Op

// ParseError reports a malformed NB201 cell string.
type ParseError struct {
	Input  string // the string being parsed
	Offset int    // byte offset (0-based) of the problem in Input
	Edge   int    // edge (0..5) being read, or -1 when not inside an edge
	Msg    string
}

// Error implements error.
func (e *ParseError) Error() string {
	where := fmt.Sprintf("offset %d", e.Offset)
	if e.Edge >= 0 {
		where += fmt.Sprintf(" (edge %d, node %d<-%d)", e.Edge+1, edgeTo[e.Edge], edgeFrom[e.Edge])
	}
	return fmt.Sprintf("nb201: bad arch string %q at %s: %s", e.Input, where, e.Msg)
}

// Parse reads an NB201 cell string such as
// "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|".
// Errors are *ParseError values naming the byte offset and edge.
func Parse(s string) (Arch, error) {
	var a Arch
	pos := 0
	fail := func(edge int, format string, args ...any) (Arch, error) {
		return Arch{}, &ParseError{Input: s, Offset: pos, Edge: edge, Msg: fmt.Sprintf(format, args...)}
	}
	expect := func(edge int, c byte) error {
		if pos >= len(s) {
			_, err := fail(edge, "unexpected end of string, want %q", c)
			return err
		}
		if s[pos] != c {
			_, err := fail(edge, "unexpected %q, want %q", s[pos], c)
			return err
		}
		pos++
		return nil
	}
	edge := 0
	for node := 1; node <= 3; node++ {
		if node > 1 {
			if err := expect(-1, '+'); err != nil {
				return Arch{}, err
			}
		}
		if err := expect(edge, '|'); err != nil {
			return Arch{}, err
		}
		for in := 0; in < node; in++ {
			start := pos
			for pos < len(s) && s[pos] != '~' && s[pos] != '|' && s[pos] != '+' {
				pos++
			}
			name := s[start:pos]
			if name == "" {
				return fail(edge, "missing operation name")
			}
			op, err := ParseOp(name)
			if err != nil {
				pos = start
				return fail(edge, "unknown operation %q", name)
			}
			if err := expect(edge, '~'); err != nil {
				return Arch{}, err
			}
			start = pos
			for pos < len(s) && s[pos] >= '0' && s[pos] <= '9' {
				pos++
			}
			if pos == start {
				return fail(edge, "missing input node index after '~'")
			}
			if got := s[start:pos]; len(got) != 1 || got[0] != byte('0'+in) {
				pos = start
				return fail(edge, "input node index %q, want %d", got, in)
			}
			if err := expect(edge, '|'); err != nil {
				return Arch{}, err
			}
			a[edge] = op
			edge++
		}
	}
	if pos != len(s) {
		return fail(-1, "unexpected trailing characters %q after the 6 edges", s[pos:])
	}
	return a, nil
}

// MustParse is Parse for constant strings in code and tests; it panics on error.
func MustParse(s string) Arch {
	a, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return a
}

// String returns the NB201 cell string.
func (a Arch) String() string {
	var b strings.Builder
	b.Grow(100)
	e := 0
	for node := 1; node <= 3; node++ {
		if node > 1 {
			b.WriteByte('+')
		}
		b.WriteByte('|')
		for in := 0; in < node; in++ {
			b.WriteString(a[e].String())
			b.WriteByte('~')
			b.WriteByte(byte('0' + in))
			b.WriteByte('|')
			e++
		}
	}
	return b.String()
}

// Code returns the 6-digit op code (the `ops` column of nb201.csv.gz), one
// digit per edge in string order, e.g. "421211". It may start with '0'.
func (a Arch) Code() string {
	var b [NumEdges]byte
	for i, o := range a {
		b[i] = '0' + byte(o)
	}
	return string(b[:])
}

// ParseCode reads a 6-digit op code such as "421211".
func ParseCode(s string) (Arch, error) {
	var a Arch
	if len(s) != NumEdges {
		return a, fmt.Errorf("nb201: op code %q: want %d digits, have %d characters", s, NumEdges, len(s))
	}
	for i := 0; i < NumEdges; i++ {
		c := s[i]
		if c < '0' || c >= '0'+NumOps {
			return Arch{}, fmt.Errorf("nb201: op code %q: character %d is %q, want a digit 0..%d", s, i+1, c, NumOps-1)
		}
		a[i] = Op(c - '0')
	}
	return a, nil
}

// Key returns the op code read as a base-5 number, 0..15624: a dense id for
// lookup tables. It is NOT the official benchmark index.
func (a Arch) Key() int {
	k := 0
	for _, o := range a {
		k = k*NumOps + int(o)
	}
	return k
}

// FromKey is the inverse of Key.
func FromKey(k int) (Arch, error) {
	if k < 0 || k >= NumArchs {
		return Arch{}, fmt.Errorf("nb201: key %d out of range 0..%d", k, NumArchs-1)
	}
	var a Arch
	for i := NumEdges - 1; i >= 0; i-- {
		a[i] = Op(k % NumOps)
		k /= NumOps
	}
	return a, nil
}

// All returns the 15,625 cells in Key order.
func All() []Arch {
	out := make([]Arch, NumArchs)
	for k := range out {
		out[k], _ = FromKey(k)
	}
	return out
}

// Count returns how many edges carry op.
func (a Arch) Count(op Op) int {
	n := 0
	for _, o := range a {
		if o == op {
			n++
		}
	}
	return n
}
