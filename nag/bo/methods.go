package bo

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/nagml/nag/tensor"
)

// Method proposes the next architectures of a run.
type Method[A Arch] interface {
	// Name identifies the method in records ("random", "rea", ...).
	Name() string
	// Propose returns up to n architectures to evaluate next, none of them
	// in h (the loop drops any that are and tops up with random ones).
	Propose(ctx context.Context, h *History[A], n int, rng *tensor.RNG) ([]A, error)
}

// Timings is the time a method spent per activity, in seconds.
type Timings struct {
	Surrogate   float64 `json:"surrogate_s"`
	Generator   float64 `json:"generator_s"`
	Acquisition float64 `json:"acquisition_s"`
}

// Timed is implemented by methods that account for their time.
type Timed interface{ Timings() Timings }

// Stats is implemented by methods that report counters for the record.
type Stats interface{ Stats() map[string]float64 }

// randomFill appends uniformly random unseen architectures to out until it
// has n entries (fewer only when the space is exhausted); taken holds what out
// already contains.
func randomFill[A Arch](sp Space[A], out []A, n int, h *History[A], taken map[A]bool, rng *tensor.RNG) []A {
	for len(out) < n {
		a, ok := randomUnseen(sp, rng, func(a A) bool { return h.Seen(a) || taken[a] })
		if !ok {
			break
		}
		taken[a] = true
		out = append(out, a)
	}
	return out
}

// RandomSearch evaluates uniformly random unseen architectures.
type RandomSearch[A Arch] struct{ Space Space[A] }

// Name implements Method.
func (RandomSearch[A]) Name() string { return "random" }

// Propose implements Method.
func (r RandomSearch[A]) Propose(_ context.Context, h *History[A], n int, rng *tensor.RNG) ([]A, error) {
	return randomFill(r.Space, nil, n, h, map[A]bool{}, rng), nil
}

// REA is regularised (aging) evolution (Real et al. 2019): the population
// is the Population most recent evaluations; each child is a mutation of the
// best of Sample architectures drawn uniformly from the population. The
// first Population evaluations are random.
type REAConfig struct {
	Population int `json:"population"`
	Sample     int `json:"sample"`
}

// REA runs regularised evolution with REAConfig in a space.
type REA[A Arch] struct {
	REAConfig
	Space Space[A] `json:"-"`
}

// Name implements Method.
func (REA[A]) Name() string { return "rea" }

// Propose implements Method.
func (r REA[A]) Propose(_ context.Context, h *History[A], n int, rng *tensor.RNG) ([]A, error) {
	if r.Population < 1 || r.Sample < 1 {
		return nil, fmt.Errorf("rea: population %d and sample %d must be positive", r.Population, r.Sample)
	}
	taken := map[A]bool{}
	if h.Len() < r.Population {
		return randomFill(r.Space, nil, min(n, r.Population-h.Len()), h, taken, rng), nil
	}
	pop := h.Entries[h.Len()-r.Population:]
	var out []A
	for len(out) < n {
		best := -1
		for k := 0; k < r.Sample; k++ {
			i := rng.IntN(len(pop))
			if best < 0 || pop[i].Value > pop[best].Value {
				best = i
			}
		}
		var child A
		ok := false
		for try := 0; try < 100 && !ok; try++ {
			child = r.Space.Mutate(pop[best].Arch, rng)
			ok = !h.Seen(child) && !taken[child]
		}
		if !ok {
			return randomFill(r.Space, out, n, h, taken, rng), nil
		}
		taken[child] = true
		out = append(out, child)
	}
	return out, nil
}

// LocalSearch is NASLib-style local search: after Init random evaluations
// the best architecture becomes the centre; its 24 one-edge neighbours are
// evaluated in random order; once they all are, the search moves to the best
// neighbour if it beats the centre, and otherwise restarts from a uniformly
// random architecture (the new centre).
type LocalSearch[A Arch] struct {
	Init  int      `json:"n_init"`
	Space Space[A] `json:"-"`

	centre   A
	hasCtr   bool
	queue    []A
	restarts int
}

// Name implements Method.
func (*LocalSearch[A]) Name() string { return "ls" }

// Stats implements Stats.
func (l *LocalSearch[A]) Stats() map[string]float64 {
	return map[string]float64{"restarts": float64(l.restarts)}
}

// Propose implements Method.
func (l *LocalSearch[A]) Propose(_ context.Context, h *History[A], n int, rng *tensor.RNG) ([]A, error) {
	taken := map[A]bool{}
	if h.Len() < l.Init {
		return randomFill(l.Space, nil, min(n, l.Init-h.Len()), h, taken, rng), nil
	}
	if !l.hasCtr {
		l.centre, l.hasCtr = h.Entries[h.Best()].Arch, true
		l.refill(h, taken, rng)
	}
	var out []A
	for guard := 0; len(out) < n && guard < 100000; guard++ {
		if len(l.queue) > 0 {
			a := l.queue[0]
			l.queue = l.queue[1:]
			if !h.Seen(a) && !taken[a] {
				taken[a] = true
				out = append(out, a)
			}
			continue
		}
		if len(out) > 0 {
			break // evaluate the rest of the neighbourhood before moving
		}
		if next, ok := l.bestNeighbour(h); ok {
			l.centre = next
			l.refill(h, taken, rng)
			continue
		}
		a, ok := randomUnseen(l.Space, rng, func(a A) bool { return h.Seen(a) || taken[a] })
		if !ok {
			break
		}
		l.restarts++
		taken[a] = true
		out = append(out, a)
		l.centre = a
		l.refill(h, taken, rng)
	}
	return out, nil
}

// refill queues the unseen neighbours of the centre in random order.
func (l *LocalSearch[A]) refill(h *History[A], taken map[A]bool, rng *tensor.RNG) {
	nb := l.Space.Neighbours(l.centre)
	rng.Shuffle(len(nb), func(i, j int) { nb[i], nb[j] = nb[j], nb[i] })
	l.queue = l.queue[:0]
	for _, a := range nb {
		if !h.Seen(a) && !taken[a] {
			l.queue = append(l.queue, a)
		}
	}
}

// bestNeighbour returns the best evaluated neighbour of the centre when it
// beats the centre (an unevaluated centre counts as worse than anything).
func (l *LocalSearch[A]) bestNeighbour(h *History[A]) (A, bool) {
	val := make(map[A]float64, h.Len())
	for _, e := range h.Entries {
		val[e.Arch] = e.Value
	}
	cv, ok := val[l.centre]
	best, found := l.centre, false
	for _, a := range l.Space.Neighbours(l.centre) {
		if v, ok2 := val[a]; ok2 && (!ok || v > cv) {
			best, cv, ok, found = a, v, true, true
		}
	}
	return best, found
}

// BO is a Bayesian-optimisation method: after Init random evaluations, every
// round fits the surrogate on the evaluated set, draws a candidate pool with
// the generator, scores it with the acquisition and proposes the best new
// candidates. When the pool holds fewer new candidates than asked for, the
// rest come from mutating the best architectures (counted as fallbacks).
type BO[A Arch] struct {
	Label     string
	Init      int
	Space     Space[A]
	Surrogate Surrogate[A]
	Gen       Generator[A]
	Acq       Acquisition

	timings   Timings
	fallbacks int
	pools     int
	poolNew   int
	rounds    int
}

// Name implements Method.
func (b *BO[A]) Name() string { return b.Label }

// Timings implements Timed.
func (b *BO[A]) Timings() Timings { return b.timings }

// Stats implements Stats.
func (b *BO[A]) Stats() map[string]float64 {
	s := map[string]float64{"rounds": float64(b.rounds), "fallback_candidates": float64(b.fallbacks)}
	if b.rounds > 0 {
		s["mean_pool_size"] = float64(b.pools) / float64(b.rounds)
		s["mean_new_in_pool"] = float64(b.poolNew) / float64(b.rounds)
	}
	if g, ok := b.Gen.(*DiffusionGen[A]); ok && g.samples > 0 {
		s["threshold_validity"] = g.Validity()
	}
	return s
}

// Propose implements Method.
func (b *BO[A]) Propose(ctx context.Context, h *History[A], n int, rng *tensor.RNG) ([]A, error) {
	taken := map[A]bool{}
	if h.Len() < b.Init {
		return randomFill(b.Space, nil, min(n, b.Init-h.Len()), h, taken, rng), nil
	}
	b.rounds++
	t0 := time.Now()
	if err := b.Surrogate.Fit(ctx, h.Archs(), h.Values(), rng); err != nil {
		return nil, fmt.Errorf("%s: fit surrogate: %w", b.Label, err)
	}
	t1 := time.Now()
	b.timings.Surrogate += t1.Sub(t0).Seconds()
	best := h.Entries[h.Best()].Value
	pool, err := b.Gen.Generate(ctx, GenRequest[A]{History: h, Surrogate: b.Surrogate, Acq: b.Acq, Best: best}, rng)
	if err != nil {
		return nil, fmt.Errorf("%s: generate candidates: %w", b.Label, err)
	}
	t2 := time.Now()
	b.timings.Generator += t2.Sub(t1).Seconds()
	var cands []A
	for _, a := range pool {
		if !h.Seen(a) && !taken[a] {
			taken[a] = true
			cands = append(cands, a)
		}
	}
	b.pools += len(pool)
	b.poolNew += len(cands)
	if len(cands) < n {
		// Top up from mutations of the best architectures.
		top := h.Top(10)
		for try := 0; len(cands) < 4*n && try < 1000; try++ {
			a := b.Space.Mutate(top[try%len(top)], rng)
			if !h.Seen(a) && !taken[a] {
				taken[a] = true
				cands = append(cands, a)
				b.fallbacks++
			}
		}
	}
	if len(cands) == 0 {
		return randomFill(b.Space, nil, n, h, taken, rng), nil
	}
	mean, std := b.Surrogate.Predict(cands)
	score := make([]float64, len(cands))
	for i := range cands {
		eps := 0.0
		if b.Acq.Kind == AcqITS {
			eps = rng.Norm()
		}
		score[i] = b.Acq.Value(mean[i], std[i], best, eps)
	}
	idx := make([]int, len(cands))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(x, y int) bool { return score[idx[x]] > score[idx[y]] })
	out := make([]A, 0, n)
	for _, i := range idx[:min(n, len(idx))] {
		out = append(out, cands[i])
	}
	b.timings.Acquisition += time.Since(t2).Seconds()
	return out, nil
}
