package kernels

import (
	"math"
	"testing"
)

// TestPhiloxKnownAnswers checks the published Philox4x32-10 known-answer
// vectors (Random123 distribution, tests/kat_vectors, "philox4x32 10" lines).
func TestPhiloxKnownAnswers(t *testing.T) {
	cases := []struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{[4]uint32{0, 0, 0, 0}, [2]uint32{0, 0}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff},
			[4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0},
			[4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	}
	for _, c := range cases {
		if got := Philox4x32(c.ctr, c.key); got != c.want {
			t.Errorf("Philox4x32(%08x, %08x) = %08x, want %08x", c.ctr, c.key, got, c.want)
		}
	}
}

func TestPhiloxBlockCounterLayout(t *testing.T) {
	seed, off, j := uint64(0x0123456789abcdef), uint64(0xfedcba9876543210), uint64(0x1122334455667788)
	want := Philox4x32([4]uint32{0x55667788, 0x11223344, 0x76543210, 0xfedcba98}, [2]uint32{0x89abcdef, 0x01234567})
	if got := PhiloxBlock(seed, off, j); got != want {
		t.Fatalf("PhiloxBlock = %08x, want %08x", got, want)
	}
}

func TestPhiloxUniformRange(t *testing.T) {
	for _, c := range []struct {
		w    uint32
		want float32
	}{
		{0, 1.0 / 16777216},
		{0xffffffff, 1 - 1.0/16777216},
		{0x80000000, 0.5 + 1.0/16777216},
		{0x000001ff, 1.0 / 16777216},
		{0x00000200, 3.0 / 16777216},
	} {
		got := PhiloxUniform(c.w)
		if got != c.want || !(got > 0 && got < 1) {
			t.Errorf("PhiloxUniform(%#x) = %v, want %v in (0,1)", c.w, got, c.want)
		}
	}
}

// TestNormalsRefMoments checks the Box-Muller normals have mean 0, variance 1
// and the normal's fourth moment 3 (loose bounds for n = 1<<16), and that
// prefixes agree (element i does not depend on the length).
func TestNormalsRefMoments(t *testing.T) {
	const n = 1 << 16
	z := make([]float32, n)
	NormalsRef(z, 42, 7)
	var s1, s2, s4 float64
	for _, v := range z {
		x := float64(v)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			t.Fatalf("non-finite normal %v", v)
		}
		s1 += x
		s2 += x * x
		s4 += x * x * x * x
	}
	mean, vr, k := s1/n, s2/n, s4/n
	if math.Abs(mean) > 0.02 || math.Abs(vr-1) > 0.03 || math.Abs(k-3) > 0.15 {
		t.Fatalf("moments mean %.4f var %.4f E[z^4] %.4f, want 0, 1, 3", mean, vr, k)
	}
	short := make([]float32, 7)
	NormalsRef(short, 42, 7)
	for i := range short {
		if short[i] != z[i] {
			t.Fatalf("normal %d: %v with length 7, %v with length %d", i, short[i], z[i], n)
		}
	}
	other := make([]float32, 8)
	NormalsRef(other, 42, 8)
	same := 0
	for i := range other {
		if other[i] == z[i] {
			same++
		}
	}
	if same == len(other) {
		t.Fatal("offsets 7 and 8 give the same normals")
	}
}

func TestUniformsRefMatchesWords(t *testing.T) {
	u := make([]float32, 6)
	UniformsRef(u, 3, 5)
	b0, b1 := PhiloxBlock(3, 5, 0), PhiloxBlock(3, 5, 1)
	want := []float32{PhiloxUniform(b0[0]), PhiloxUniform(b0[1]), PhiloxUniform(b0[2]), PhiloxUniform(b0[3]),
		PhiloxUniform(b1[0]), PhiloxUniform(b1[1])}
	for i := range u {
		if u[i] != want[i] {
			t.Fatalf("uniform %d = %v, want %v", i, u[i], want[i])
		}
	}
}
