package tensor

import (
	"math"
	"math/rand/v2"
)

// RNG is the engine's seedable random source (PCG). Every random choice in
// nag (initialisation, noise, dropout, data order) draws from an explicit RNG,
// so a seed fixes a run. Its state can be saved into a checkpoint and restored.
type RNG struct {
	src *rand.PCG
	r   *rand.Rand
}

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) *RNG {
	src := rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	return &RNG{src: src, r: rand.New(src)}
}

// Uint64 returns a uniformly distributed 64-bit value.
func (g *RNG) Uint64() uint64 { return g.r.Uint64() }

// Float32 returns a uniform value in [0, 1).
func (g *RNG) Float32() float32 { return g.r.Float32() }

// Float64 returns a uniform value in [0, 1).
func (g *RNG) Float64() float64 { return g.r.Float64() }

// IntN returns a uniform int in [0, n).
func (g *RNG) IntN(n int) int { return g.r.IntN(n) }

// Perm returns a random permutation of 0..n-1.
func (g *RNG) Perm(n int) []int { return g.r.Perm(n) }

// Shuffle permutes n items using swap.
func (g *RNG) Shuffle(n int, swap func(i, j int)) { g.r.Shuffle(n, swap) }

// Norm returns a standard normal value.
func (g *RNG) Norm() float64 { return g.r.NormFloat64() }

// FillNormal fills dst with N(mean, std^2) samples.
func (g *RNG) FillNormal(dst []float32, mean, std float32) {
	for i := range dst {
		dst[i] = mean + std*float32(g.r.NormFloat64())
	}
}

// FillUniform fills dst with U(lo, hi) samples.
func (g *RNG) FillUniform(dst []float32, lo, hi float32) {
	for i := range dst {
		dst[i] = lo + (hi-lo)*g.r.Float32()
	}
}

// Split derives an independent generator (for a worker or a sub-task) from
// this one, advancing this generator's state.
func (g *RNG) Split() *RNG {
	a, b := g.r.Uint64(), g.r.Uint64()
	src := rand.NewPCG(a, b)
	return &RNG{src: src, r: rand.New(src)}
}

// MarshalBinary returns the generator state (for checkpoints).
func (g *RNG) MarshalBinary() ([]byte, error) { return g.src.MarshalBinary() }

// UnmarshalBinary restores a state produced by MarshalBinary.
func (g *RNG) UnmarshalBinary(b []byte) error {
	if g.src == nil {
		g.src = rand.NewPCG(0, 0)
		g.r = rand.New(g.src)
	}
	return g.src.UnmarshalBinary(b)
}

// RandN returns a tensor of N(0,1) samples.
func RandN(g *RNG, shape ...int) *Tensor {
	t := Zeros(shape...)
	g.FillNormal(t.data, 0, 1)
	return t
}

// RandU returns a tensor of U(lo, hi) samples.
func RandU(g *RNG, lo, hi float32, shape ...int) *Tensor {
	t := Zeros(shape...)
	g.FillUniform(t.data, lo, hi)
	return t
}

var _ = math.Pi
