package hedge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aragora/resilience/internal/durfmt"
	"github.com/aragora/resilience/policy"
)

// ErrNotBuilt is returned by the methods of a Hedge that [New] did not build:
// a zero Hedge or a nil *Hedge.
var ErrNotBuilt = errors.New("hedge: a zero or nil Hedge has no configuration: build it with hedge.New")

// ErrLost is the cause of the context of an attempt that another attempt
// beat: context.Cause returns it once the attempt is cancelled. It matches
// context.Canceled, and its error.type in telemetry is "hedge_lost".
var ErrLost error = lostError{}

// errGoexit is raised by an execution whose hedged attempt called
// runtime.Goexit, which ends only the goroutine it runs on.
var errGoexit = errors.New("hedge: runtime.Goexit in a hedged attempt")

type lostError struct{}

func (lostError) Error() string        { return "hedge: another attempt won" }
func (lostError) Is(target error) bool { return target == context.Canceled }
func (lostError) ErrorType() string    { return "hedge_lost" }

// Hedge is a policy that cuts tail latency: when an attempt has run Delay
// without a result, it starts another, up to MaxHedges, and the first attempt
// to succeed wins; the others are cancelled. It is safe for concurrent use.
// Build it with [New]: a zero Hedge, or a nil *Hedge, runs nothing, and its
// Run and Execute return [ErrNotBuilt].
type Hedge struct {
	cfg      config
	fixed    bool
	lat      *latency // nil with a fixed delay
	pipeline *policy.Pipeline
}

var _ policy.Policy = (*Hedge)(nil)

// New returns a hedging policy. By default it hedges once, after the 95th
// percentile of the latencies of the attempts it has seen succeed (between
// 1ms and 1s, and 1s until it has seen 20), within a budget of its own that
// allows hedged attempts in flight up to 10% of its executions in flight, and
// at least one. New fails when an option is out of range.
func New(opts ...Option) (*Hedge, error) {
	h := &Hedge{cfg: config{
		name:      "hedge",
		minDelay:  DefaultMinDelay,
		maxDelay:  DefaultMaxDelay,
		quantile:  DefaultPercentile,
		maxHedges: DefaultMaxHedges,
	}}
	for _, o := range opts {
		if o != nil {
			o.apply(&h.cfg)
		}
	}
	c := &h.cfg
	h.fixed = c.fixed
	switch {
	case h.fixed && c.delay <= 0:
		return nil, fmt.Errorf("hedge: delay is %v; want a positive delay", durfmt.Round(c.delay))
	case !h.fixed && (c.minDelay < 0 || c.maxDelay <= 0 || c.maxDelay < c.minDelay):
		return nil, fmt.Errorf("hedge: delay bounds are [%v, %v]; want 0 ≤ min ≤ max and max > 0",
			durfmt.Round(c.minDelay), durfmt.Round(c.maxDelay))
	case !(c.quantile > 0 && c.quantile < 1):
		return nil, fmt.Errorf("hedge: percentile is %v; want a number in (0, 1)", c.quantile)
	case c.maxHedges < 1:
		return nil, fmt.Errorf("hedge: max hedges is %d; want 1 or more", c.maxHedges)
	}
	if c.budget == nil {
		c.budget, _ = NewBudget(DefaultBudgetPercent, DefaultBudgetMin)
	}
	if !h.fixed {
		h.lat = newLatency(c.quantile)
	}
	p, err := policy.New(c.name, h)
	if err != nil {
		return nil, err
	}
	h.pipeline = p
	return h, nil
}

// Name returns the policy's name, "hedge" unless [WithName] set another.
func (h *Hedge) Name() string {
	if h == nil || h.cfg.name == "" {
		return "hedge"
	}
	return h.cfg.name
}

// Delay returns the delay after which the next execution starts a hedged
// attempt: the fixed one of [WithDelay], or the adaptive one.
func (h *Hedge) Delay() time.Duration {
	if h == nil || h.pipeline == nil {
		return 0
	}
	if h.fixed {
		return h.cfg.delay
	}
	d, ok := h.lat.estimate()
	if !ok {
		return h.cfg.maxDelay
	}
	return min(max(d, h.cfg.minDelay), h.cfg.maxDelay)
}

// Execute runs fn in a pipeline that holds only h, named after h, with the
// pipeline's telemetry.
func (h *Hedge) Execute(ctx context.Context, fn func(context.Context) error) error {
	if h == nil || h.pipeline == nil {
		return ErrNotBuilt
	}
	return h.pipeline.Execute(ctx, fn)
}

// Get runs fn in the pipeline of [Hedge.Execute] and returns the winning
// attempt's value.
func Get[T any](ctx context.Context, h *Hedge, fn func(context.Context) (T, error)) (T, error) {
	if h == nil || h.pipeline == nil {
		var zero T
		return zero, ErrNotBuilt
	}
	return policy.Get(ctx, h.pipeline, fn)
}

// Run implements [policy.Policy]: it runs the rest of the pipeline in a
// branch of the execution, on the caller's goroutine, and starts hedged
// branches, each on a goroutine of its own, as [New] describes. It returns
// once every attempt it started has returned.
func (h *Hedge) Run(ctx context.Context, ex policy.Execution) error {
	if h == nil || h.pipeline == nil {
		return ErrNotBuilt
	}
	if err := policy.ContextError(ctx); err != nil {
		return err
	}
	b := h.cfg.budget
	b.begin()
	defer b.end()
	r := &race{h: h, ex: ex, ctx: ctx, winner: -1, last: -1}
	r.branches = r.buf[:0]
	return r.run()
}

// race is one execution of a Hedge: its attempts, each in a branch. The
// first runs on the caller's goroutine; a timer's function starts the hedged
// ones, so that an execution whose first attempt answers in time starts no
// goroutine. mu guards what the caller's goroutine, the timer's and the
// branches' results share, including the use of ex.
type race struct {
	h     *Hedge
	ex    policy.Execution
	ctx   context.Context
	delay time.Duration
	timer *time.Timer
	buf   [2]branch // the branches of the usual execution, hedged once

	mu       sync.Mutex
	branches []branch
	done     chan struct{} // a token per hedged branch that finished; made with the first
	pending  int           // hedged branches whose Next has not returned
	hedges   int           // hedged branches started
	refused  bool          // the budget refused a hedge: no more in this execution
	closed   bool          // the execution is ending: no more hedges
	winner   int           // the branch that won, or -1
	last     int           // the last branch that failed, or -1
	panicked bool          // a policy inside the hedge panicked outside an attempt
	panicVal any
}

type branch struct {
	ex     policy.Execution
	ctx    context.Context
	cancel context.CancelCauseFunc
	start  time.Time
	hedged bool // holds a share of the budget until it returns
	done   bool
	err    error
}

type outcome struct {
	i        int
	err      error
	panicked bool
	value    any
}

func (r *race) run() error {
	r.delay = r.h.Delay()
	r.mu.Lock()
	first := r.fork(false)
	b, ctx := r.branches[first].ex, r.branches[first].ctx
	r.timer = time.AfterFunc(r.delay, r.tick)
	r.mu.Unlock()
	o := r.next(first, b, ctx)

	r.mu.Lock()
	r.finished(o)
	for r.pending > 0 {
		r.mu.Unlock()
		<-r.done // a hedged branch has finished
		r.mu.Lock()
	}
	r.closed = true
	r.mu.Unlock()
	// Stopped only now, while hedged branches may still run late after the
	// first failed; once closed, tick arms it no more.
	r.timer.Stop()
	return r.end()
}

// tick is the timer's function: it starts a hedged branch, and arms the
// timer again while hedges remain.
func (r *race) tick() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.canHedge() || r.pending == 0 && r.branches[0].done {
		return // nothing is running late
	}
	r.hedge(r.delay, "delay")
	if r.canHedge() {
		r.timer.Reset(r.delay)
	}
}

// next runs branch i's Next, turning a panic of a policy inside the hedge
// (the core recovers those of the function) into an outcome, raised again
// on the caller's goroutine once every branch has returned.
func (r *race) next(i int, b policy.Execution, ctx context.Context) (o outcome) {
	o.i = i
	defer func() {
		if v := recover(); v != nil {
			o.panicked, o.value = true, v
		}
	}()
	o.err = b.Next(ctx)
	return o
}

// finished takes the outcome of a branch whose Next has returned; r.mu is
// held.
func (r *race) finished(o outcome) {
	b := &r.branches[o.i]
	b.done, b.err = true, o.err
	if b.hedged {
		r.h.cfg.budget.release()
	}
	switch {
	case o.panicked:
		if !r.panicked {
			r.panicked, r.panicVal = true, o.value
		}
		r.stop()
	case r.winner >= 0:
		// A loser, cancelled or late.
	case o.err == nil:
		r.winner = o.i
		if r.h.lat != nil {
			r.h.lat.observe(time.Since(b.start))
		}
		r.stop()
	case policy.OutcomeOf(o.err) == policy.Panic:
		r.winner = o.i // a panic ends the execution, as it would without the hedge
		r.stop()
	default:
		r.last = o.i
		if r.h.cfg.parallel && r.canHedge() {
			r.hedge(0, "failure")
		}
	}
}

// canHedge reports whether another hedged branch may start; r.mu is held.
func (r *race) canHedge() bool {
	return !r.closed && r.winner < 0 && !r.panicked && !r.refused &&
		r.hedges < r.h.cfg.maxHedges && r.ctx.Err() == nil
}

// fork adds a branch, with a context of its own, and returns its index;
// r.mu is held.
func (r *race) fork(hedged bool) int {
	ctx, cancel := context.WithCancelCause(r.ctx)
	r.branches = append(r.branches, branch{
		ex: r.ex.Fork(hedged), ctx: ctx, cancel: cancel, start: time.Now(), hedged: hedged,
	})
	return len(r.branches) - 1
}

// hedge starts a hedged branch on a goroutine of its own, when the budget
// allows it, and reports it; r.mu is held.
func (r *race) hedge(delay time.Duration, reason string) {
	if !r.h.cfg.budget.acquire() {
		r.refused = true
		r.ex.Report(policy.Event{Kind: policy.EventHedgeBudgetExhausted, Attempt: r.ex.Attempts()})
		return
	}
	if r.done == nil {
		r.done = make(chan struct{}, r.h.cfg.maxHedges)
	}
	r.hedges++
	r.pending++
	i := r.fork(true)
	n := r.ex.Attempts()
	b, ctx, done := r.branches[i].ex, r.branches[i].ctx, r.done
	go func() {
		// Reported even when runtime.Goexit ends the goroutine: then as
		// a panic, so that the caller does not wait for it forever.
		o := outcome{i: i, panicked: true, value: errGoexit}
		defer func() {
			r.mu.Lock()
			r.pending--
			r.finished(o)
			r.mu.Unlock()
			done <- struct{}{}
		}()
		o = r.next(i, b, ctx)
	}()
	r.ex.Report(policy.Event{Kind: policy.EventHedge, Attempt: n, Delay: delay, Reason: reason})
}

// stop cancels the branches still running: they lost; r.mu is held.
func (r *race) stop() {
	for i := range r.branches {
		if !r.branches[i].done {
			r.branches[i].cancel(ErrLost)
		}
	}
}

// end joins every branch, once all have returned, hands the losers' values
// to the discard hook, and returns the execution's error.
func (r *race) end() error {
	win := r.winner
	if win < 0 {
		win = r.last
	}
	if win < 0 {
		win = len(r.branches) - 1 // none won or failed: all stopped by a panic
	}
	// A panic, of a policy or of a function (even a loser's, raised by
	// Execute once Run returns), returns no value: the winner's is
	// discarded too.
	raise := r.panicked
	for i := range r.branches {
		raise = raise || policy.OutcomeOf(r.branches[i].err) == policy.Panic
	}
	var discard []any
	for i := range r.branches {
		b := &r.branches[i]
		b.cancel(nil) // the execution has ended: nothing outlives it
		if (i != win || raise) && b.err == nil && r.h.cfg.discard != nil {
			discard = append(discard, b.ex.Result())
		}
		r.ex.Join(b.ex, i == win)
	}
	err := r.branches[win].err
	discardAll(r.h.cfg.discard, discard)
	if r.panicked {
		panic(r.panicVal)
	}
	return err
}

// discardAll hands each of vs to fn, in order, even when fn panics on one:
// the panic goes on up once the others have been handed over.
func discardAll(fn func(any), vs []any) {
	if len(vs) == 0 {
		return
	}
	defer discardAll(fn, vs[1:])
	fn(vs[0])
}
