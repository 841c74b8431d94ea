// Package par runs the engine's parallel loops on a small pool of persistent
// helper goroutines.
//
// Why not a fresh goroutine per loop: on a machine whose other cores are idle,
// a new goroutine starts only once the operating system has woken a parked
// thread on another core, which measured 70-200 µs on a 2-core VM, as long as
// a whole 256^3 matrix product on one core. The helpers here stay awake
// (spinning, yielding to the Go scheduler on every turn) for a short while
// after each loop, so the loops of a forward pass, which follow each other
// within microseconds, reach an idle core at once. Every parallel kernel of
// the engine (SGEMM rounds, row-parallel element-wise kernels, norms, the
// Adam sweep) goes through Do, so a spinning helper never holds a core that
// another kernel's goroutine is waiting for: it is the one that runs it.
//
// Do hands out loop indices dynamically: the caller works through the
// indices too, so a helper that is late (parked, or descheduled) costs
// nothing but its share of the work; no index waits for a helper to start.
// Which goroutine runs an index never changes what the index computes, so
// results do not depend on scheduling.
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// SpinTime is how long an idle helper keeps looking for work before it
// parks. A parked helper is woken by the next Do (at the operating system's
// wake-up cost, during which the caller works alone).
const SpinTime = 200 * time.Microsecond

// Task is a parallel loop body: Run(i) for each index. A pointer type that
// implements it is passed to DoTask without allocating.
type Task interface{ Run(i int) }

type funcTask func(int)

func (f funcTask) Run(i int) { f(i) }

// job is the loop in flight: indices [0, n) of t, handed out by next; done
// counts the finished ones, users the helpers inside run. The pool owns one
// job and reuses it, so a loop allocates nothing.
type job struct {
	t     Task
	n     int64
	next  atomic.Int64
	done  atomic.Int64
	users atomic.Int32
}

// run takes indices until none are left.
func (j *job) run() {
	for {
		i := j.next.Add(1) - 1
		if i >= j.n {
			return
		}
		j.t.Run(int(i))
		j.done.Add(1)
	}
}

// pool is the process's helper pool. It holds no state that affects
// results: only which goroutines run the indices of the current loop.
type pool struct {
	busy    sync.Mutex // held by the goroutine whose Do owns the helpers
	job     job
	cur     atomic.Pointer[job] // &job while a loop is in flight, else nil
	seq     atomic.Uint64       // incremented when a loop is published
	helpers int                 // helpers started (touched only by the holder of busy)

	mu     sync.Mutex // guards parking
	cond   *sync.Cond
	parked atomic.Int32
}

var thePool = newPool()

func newPool() *pool {
	p := &pool{}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// Do calls f(i) for every i in [0, n) exactly once and returns when all calls
// have returned. Calls run on the calling goroutine and on idle helpers, in
// any order and concurrently, so f(i) must not wait for another index. When
// the pool is already in use (a Do inside f, or Do from two goroutines at
// once), or only one CPU is available, the indices run in order on the
// caller.
func Do(n int, f func(i int)) { thePool.do(n, funcTask(f)) }

// DoTask is Do for a Task value (no closure to allocate).
func DoTask(n int, t Task) { thePool.do(n, t) }

func (p *pool) do(n int, t Task) {
	if n <= 0 {
		return
	}
	procs := runtime.GOMAXPROCS(0)
	if n == 1 || procs == 1 || !p.busy.TryLock() {
		for i := range n {
			t.Run(i)
		}
		return
	}
	defer p.busy.Unlock()
	p.ensure(procs - 1)
	j := &p.job
	// No helper is inside run (users is 0 after the previous loop), so the
	// fields can be reset; publishing through cur orders them before any
	// helper's read.
	j.t, j.n = t, int64(n)
	j.next.Store(0)
	j.done.Store(0)
	p.cur.Store(j)
	p.seq.Add(1)
	if p.parked.Load() > 0 {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	}
	j.run()
	for j.done.Load() < j.n {
		runtime.Gosched()
	}
	p.cur.Store(nil)
	for j.users.Load() != 0 {
		runtime.Gosched()
	}
	j.t = nil
}

// join runs the published loop, if there is still one.
func (p *pool) join() {
	j := p.cur.Load()
	if j == nil {
		return
	}
	j.users.Add(1)
	// The loop may have ended between the load and the increment; then do
	// not touch it (its caller may be resetting it).
	if p.cur.Load() == j {
		j.run()
	}
	j.users.Add(-1)
}

// ensure starts helpers until there are at least want. Only the holder of
// busy calls it.
func (p *pool) ensure(want int) {
	for ; p.helpers < want; p.helpers++ {
		go p.helper(p.seq.Load())
	}
}

// helper runs the jobs it sees, spinning for SpinTime after each before it
// parks until the next job is published.
func (p *pool) helper(seen uint64) {
	for {
		deadline := time.Now().Add(SpinTime)
		for spins := 0; ; spins++ {
			if s := p.seq.Load(); s != seen {
				seen = s
				p.join()
				deadline = time.Now().Add(SpinTime)
				continue
			}
			if spins%32 == 31 && time.Now().After(deadline) {
				break
			}
			runtime.Gosched()
		}
		// Park. parked is raised before seq is checked again under mu, and
		// Do reads parked after raising seq, so a job published meanwhile
		// is either seen here or followed by a Broadcast.
		p.mu.Lock()
		p.parked.Add(1)
		for p.seq.Load() == seen {
			p.cond.Wait()
		}
		p.parked.Add(-1)
		p.mu.Unlock()
	}
}
