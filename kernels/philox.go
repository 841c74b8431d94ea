package kernels

import "math"

// Philox4x32-10 constants (Salmon, Moraes, Dror, Shaw: "Parallel random numbers:
// as easy as 1, 2, 3", SC'11; the Random123 library's values).
const (
	philoxM0 = 0xD2511F53
	philoxM1 = 0xCD9E8D57
	philoxW0 = 0x9E3779B9
	philoxW1 = 0xBB67AE85
)

// Philox4x32 is the counter-based Philox4x32-10 generator: it maps a 128-bit
// counter and a 64-bit key to four pseudo-random 32-bit words. It is the Go
// reference of the device function nag_philox4x32_10 (common.cuh); the two must
// agree bit for bit.
func Philox4x32(ctr [4]uint32, key [2]uint32) [4]uint32 {
	c, k0, k1 := ctr, key[0], key[1]
	for r := 0; r < 10; r++ {
		p0 := uint64(philoxM0) * uint64(c[0])
		p1 := uint64(philoxM1) * uint64(c[2])
		c = [4]uint32{
			uint32(p1>>32) ^ c[1] ^ k0,
			uint32(p1),
			uint32(p0>>32) ^ c[3] ^ k1,
			uint32(p0),
		}
		k0 += philoxW0
		k1 += philoxW1
	}
	return c
}

// PhiloxBlock returns the four words of block j of the (seed, offset) stream:
// counter {j lo, j hi, offset lo, offset hi}, key {seed lo, seed hi}. Element i
// of a stream comes from block i/4, word i%4.
func PhiloxBlock(seed, offset, j uint64) [4]uint32 {
	return Philox4x32([4]uint32{uint32(j), uint32(j >> 32), uint32(offset), uint32(offset >> 32)},
		[2]uint32{uint32(seed), uint32(seed >> 32)})
}

// PhiloxUniform converts a Philox word to a float32 uniform in (0, 1): the top
// 23 bits, centred in their interval, (2k+1)·2^-24 for k < 2^23 (exactly
// representable, never 0 or 1, identical on the device).
func PhiloxUniform(w uint32) float32 {
	return (float32(w>>9) + 0.5) * (1.0 / 8388608.0)
}

// boxMuller maps two words to two standard normals (float64 math; the device
// uses float32 logf/sincospif, so results agree to about 1e-6, not bit for bit).
func boxMuller(a, b uint32) (float32, float32) {
	u1, u2 := float64(PhiloxUniform(a)), float64(PhiloxUniform(b))
	r := math.Sqrt(-2 * math.Log(u1))
	s, c := math.Sincos(2 * math.Pi * u2)
	return float32(r * c), float32(r * s)
}

// NormalsRef fills dst with normals 0..len(dst)-1 of the (seed, offset) stream:
// the CPU reference of the device kernels philox_normal, sde_predictor and
// langevin_* (which generate the same numbers in place).
func NormalsRef(dst []float32, seed, offset uint64) {
	for j := 0; 4*j < len(dst); j++ {
		w := PhiloxBlock(seed, offset, uint64(j))
		z0, z1 := boxMuller(w[0], w[1])
		z2, z3 := boxMuller(w[2], w[3])
		z := [4]float32{z0, z1, z2, z3}
		for r := 0; r < 4 && 4*j+r < len(dst); r++ {
			dst[4*j+r] = z[r]
		}
	}
}

// UniformsRef fills dst with uniforms 0..len(dst)-1 of the (seed, offset)
// stream (word i%4 of block i/4 through PhiloxUniform): the CPU reference of
// the dropout kernel's mask.
func UniformsRef(dst []float32, seed, offset uint64) {
	for j := 0; 4*j < len(dst); j++ {
		w := PhiloxBlock(seed, offset, uint64(j))
		for r := 0; r < 4 && 4*j+r < len(dst); r++ {
			dst[4*j+r] = PhiloxUniform(w[r])
		}
	}
}
