package bulkhead

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aragora/resilience/policy"
)

// Bulkhead bounds how many calls run at once, so that one slow dependency
// cannot take every goroutine, connection or worker with it. A Bulkhead is
// safe for concurrent use; build one per protected resource, with [New] or
// [Get]. The zero Bulkhead is not one: taking a permit from it panics with a
// message that says so.
//
// Callers take permits in one of three ways: as a [policy.Policy] in a
// pipeline ([Bulkhead.Run], or [Bulkhead.Execute] for the bulkhead alone),
// with [Bulkhead.Acquire] and its release func, or with the allocation-free
// pair [Bulkhead.TryAcquire] and [Bulkhead.Release].
type Bulkhead struct {
	// state packs the permits in use (low 32 bits) and the calls waiting
	// (high 32 bits) into one word, so that the uncontended paths are one
	// compare-and-swap each. The waiting half changes only under mu, and
	// while it is not zero so does the whole word: the fast paths refuse to
	// act when anyone waits.
	state atomic.Uint64
	limit atomic.Int64 // the current limit: MaxConcurrent, or the adaptive one

	mu    sync.Mutex
	queue waitQueue // guarded by mu

	name     string
	cfg      Config
	adaptive *limiter // nil: a fixed limit
	errFull  error    // the *RejectedError of a full bulkhead
	errWait  error    // the *RejectedError of a wait that ran out
	rejected atomic.Uint64
	timedOut atomic.Uint64
	pipeline *policy.Pipeline // for Execute
}

// Deltas of the state word, as the unsigned additions that apply them.
const (
	inflightMask        = 1<<32 - 1
	oneWaiter           = 1 << 32
	minusPermit  uint64 = 1<<64 - 1             // one permit fewer in use
	minusWaiter  uint64 = 1<<64 - oneWaiter     // one waiter fewer
	grantDelta   uint64 = 1<<64 - oneWaiter + 1 // a waiter becomes a permit holder
)

func inflightOf(s uint64) int64 { return int64(s & inflightMask) }
func queuedOf(s uint64) int64   { return int64(s >> 32) }

var _ policy.Policy = (*Bulkhead)(nil)

// New returns a bulkhead named name, sized by cfg. The name labels its
// telemetry (the policy attribute of events, the bulkhead attribute of its
// gauges), so it should come from code, never from request data. New fails,
// with an error matching [ErrInvalidConfig] that names the field, when cfg
// cannot be used, and when name is empty.
//
// New registers the gauges resilience.bulkhead.inflight,
// resilience.bulkhead.queued and resilience.bulkhead.limit with the meter
// provider of [WithMeterProvider], by default the otel package's global one.
// They stop reporting once the bulkhead is garbage collected.
func New(name string, cfg Config, opts ...Option) (*Bulkhead, error) {
	if name == "" {
		return nil, &configError{what: "name is empty"}
	}
	cfg, err := cfg.normalize()
	if err != nil {
		err.(*configError).name = name
		return nil, err
	}
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	b := &Bulkhead{
		name:    name,
		cfg:     cfg,
		errFull: &RejectedError{Bulkhead: name, Cause: ErrFull},
		errWait: &RejectedError{Bulkhead: name, Cause: ErrWaitTimeout, MaxWait: cfg.MaxWait},
	}
	b.limit.Store(int64(cfg.MaxConcurrent))
	if cfg.Adaptive != nil {
		b.adaptive = newLimiter(*cfg.Adaptive, cfg.MaxConcurrent)
		b.limit.Store(int64(cfg.Adaptive.InitialLimit))
	}
	b.pipeline, err = policy.New(name, b)
	if err != nil {
		return nil, err
	}
	b.pipeline = b.pipeline.With(policy.WithTracerProvider(o.tp), policy.WithMeterProvider(o.mp))
	registerGauges(b, o.meterProvider())
	return b, nil
}

// Name returns the bulkhead's name: the policy attribute of its events and
// the bulkhead attribute of its gauges.
func (b *Bulkhead) Name() string { return b.name }

// Config returns the bulkhead's configuration, defaults filled in.
func (b *Bulkhead) Config() Config {
	cfg := b.cfg
	if cfg.Adaptive != nil {
		a := *cfg.Adaptive
		cfg.Adaptive = &a
	}
	return cfg
}

// TryAcquire takes a permit if one is free and no call is waiting for one,
// and reports whether it did. It never waits and allocates nothing; a true
// result must be matched by exactly one [Bulkhead.Release]. Permits taken
// this way do not feed the adaptive limit, which learns from the calls of
// Run, Execute and Acquire only.
func (b *Bulkhead) TryAcquire() bool {
	for {
		s := b.state.Load()
		if lim := b.limit.Load(); s>>32 != 0 || inflightOf(s) >= lim {
			if lim == 0 { // New sets a limit of at least 1
				panic(errNotMade)
			}
			return false
		}
		if b.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// Release returns a permit taken by [Bulkhead.TryAcquire], handing it to the
// longest-waiting call if there is one. Releasing a permit that was not taken
// is a bug that corrupts the count: Release panics when no permit is in use,
// as a semaphore does, and cannot detect the other cases.
func (b *Bulkhead) Release() {
	for {
		s := b.state.Load()
		if s&inflightMask == 0 {
			if b.limit.Load() == 0 {
				panic(errNotMade)
			}
			panic("bulkhead: Release without a permit in use")
		}
		if s>>32 != 0 {
			b.releaseSlow()
			return
		}
		if b.state.CompareAndSwap(s, s-1) {
			return
		}
	}
}

// Acquire takes a permit, waiting for one in the queue when every permit is
// taken, and returns the func that gives it back. A call refused by the
// bulkhead gets a [*RejectedError] matching [ErrFull] or [ErrWaitTimeout]; a
// wait ended by ctx gets ctx's error. When a permit is free at once, Acquire
// takes it without looking at ctx.
//
// release is idempotent: calling it again, or from a deferred call after an
// explicit one, does nothing, so "defer release()" is always safe. That
// takes state of its own for each permit, which no preallocated func can
// hold (a shared one would free another holder's permit when called late),
// so Acquire makes two small allocations, the permit and its func. Hot paths
// use [Bulkhead.Run] (through a pipeline) or TryAcquire and Release, which
// allocate nothing.
func (b *Bulkhead) Acquire(ctx context.Context) (release func(), err error) {
	if !b.TryAcquire() {
		if _, _, err := b.wait(ctx); err != nil {
			return nil, err
		}
	}
	p := &permit{b: b}
	if b.adaptive != nil {
		p.start = time.Now()
	}
	return p.release, nil
}

// permit is one permit taken by Acquire.
type permit struct {
	b        *Bulkhead
	start    time.Time // when the permit was taken; zero unless adaptive
	released atomic.Bool
}

func (p *permit) release() {
	if !p.released.CompareAndSwap(false, true) {
		return
	}
	if p.b.adaptive != nil {
		p.b.sample(time.Since(p.start))
	}
	p.b.Release()
}

// Run runs the rest of the pipeline holding a permit, which it releases
// however the rest ends: with a result, an error, a panic or a cancelled
// context. When every permit is taken it waits in the queue; it refuses the
// call with a [*RejectedError] when the queue is full or MaxWait runs out,
// and returns ctx's error when ctx ends the wait. A call whose ctx is done
// before it starts takes no permit and returns ctx's error at once: it could
// not run, so it teaches an adaptive limit nothing.
//
// Run reports a bulkhead.queued event for every call that joined the queue,
// with the wait as its Delay (and, when the wait ended without a permit, the
// error as its Err), and a bulkhead.rejected event, with reason
// [ReasonQueueFull] or [ReasonMaxWait], for every call it refuses.
func (b *Bulkhead) Run(ctx context.Context, ex policy.Execution) error {
	if ctx.Err() != nil {
		return policy.ContextError(ctx) // a call that cannot start is no sample
	}
	if !b.TryAcquire() {
		waited, queued, err := b.wait(ctx)
		if queued {
			ex.Report(policy.Event{Kind: policy.EventBulkheadQueued, Delay: waited, Err: err})
		}
		if err != nil {
			if re, ok := err.(*RejectedError); ok {
				ex.Report(policy.Event{Kind: policy.EventBulkheadRejected, Reason: re.Reason(), Delay: waited, Err: err})
			}
			return err
		}
	}
	if b.adaptive != nil {
		return b.runSampled(ctx, ex)
	}
	defer b.Release()
	return ex.Next(ctx)
}

// runSampled is Run's second half for an adaptive bulkhead: it measures how
// long the rest of the pipeline holds the permit.
func (b *Bulkhead) runSampled(ctx context.Context, ex policy.Execution) (err error) {
	start := time.Now()
	returned := false
	defer func() {
		// A panic that escapes the pipeline (not one in the user's function,
		// which arrives here as a *policy.PanicError) teaches nothing.
		if returned && countsAsSample(err) {
			b.sample(time.Since(start))
		}
		b.Release()
	}()
	err = ex.Next(ctx)
	returned = true
	return err
}

// Execute runs fn in the bulkhead, through a pipeline that holds only b and is
// named after it, so with the pipeline's spans and metrics. A panic in fn
// releases the permit and is raised again. For a function with a result,
// capture it in fn, or use [policy.Get] with a pipeline that holds b.
func (b *Bulkhead) Execute(ctx context.Context, fn func(context.Context) error) error {
	if b.pipeline == nil {
		panic(errNotMade)
	}
	return b.pipeline.Execute(ctx, fn)
}

// Stats is a snapshot of a bulkhead's use, for health checks and dashboards.
// Its fields are read one by one, without stopping the bulkhead, so under
// load they may not add up exactly.
type Stats struct {
	InFlight int    // permits in use
	Queued   int    // calls waiting for a permit
	Limit    int    // the current limit: MaxConcurrent, unless adaptive
	Ceiling  int    // MaxConcurrent: the most Limit can be
	MaxQueue int    // Config.MaxQueue
	Rejected uint64 // calls refused with ErrFull since New
	TimedOut uint64 // calls refused with ErrWaitTimeout since New
}

// Stats returns a snapshot of the bulkhead's use.
func (b *Bulkhead) Stats() Stats {
	s := b.state.Load()
	return Stats{
		InFlight: int(inflightOf(s)),
		Queued:   int(queuedOf(s)),
		Limit:    int(b.limit.Load()),
		Ceiling:  b.cfg.MaxConcurrent,
		MaxQueue: b.cfg.MaxQueue,
		Rejected: b.rejected.Load(),
		TimedOut: b.timedOut.Load(),
	}
}

// Utilization returns the share of the current limit in use, InFlight/Limit:
// 1 when every permit is taken. It can exceed 1 for a moment after an
// adaptive limit shrank.
func (s Stats) Utilization() float64 {
	if s.Limit <= 0 {
		return 0
	}
	return float64(s.InFlight) / float64(s.Limit)
}
