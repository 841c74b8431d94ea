package nb201

import "github.com/nagml/nag/tensor"

// Random draws a cell uniformly from the 15,625 (each edge uniform over the
// five operations).
func Random(rng *tensor.RNG) Arch {
	var a Arch
	for i := range a {
		a[i] = Op(rng.IntN(NumOps))
	}
	return a
}

// RandomN draws n cells independently and uniformly.
func RandomN(rng *tensor.RNG, n int) []Arch {
	out := make([]Arch, n)
	for i := range out {
		out[i] = Random(rng)
	}
	return out
}
