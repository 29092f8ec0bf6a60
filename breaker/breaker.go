package breaker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aragora/resilience/policy"
	"go.opentelemetry.io/otel/metric"
)

// Breaker is a circuit breaker: it stops calling a dependency that keeps
// failing, and tries it again after a cooldown. It is a [policy.Policy], and
// can also be used alone, through [Breaker.Execute] or the manual API
// ([Breaker.Allow], [Breaker.CanExecute]).
//
// A Breaker is safe for concurrent use. It changes state only when it is used
// or read: it runs no timer and no goroutine of its own.
type Breaker struct {
	name  string
	s     settings
	epoch time.Time // the origin of the breaker's clock; see now

	// word packs the state, the consecutive failures of a closed breaker in
	// consecutive mode, and the generation, which every change of state
	// increments so that the outcomes of calls admitted before a change are
	// not counted after it. It changes under mu, except when the closed path
	// of consecutive mode counts failures with compare-and-swap.
	word    atomic.Uint64
	openErr atomic.Pointer[OpenError] // the rejection of the current trip
	trials  atomic.Int32              // trial calls in flight; changes under mu

	timed       bool       // calls are timed, for the slow-call rule
	consecutive bool       // consecutive mode, not sliding-window
	fullErr     *OpenError // the rejection of a full half-open breaker
	forcedErr   *OpenError // the rejection of a forced-open breaker
	gaugeOpts   [numStates]metric.ObserveOption
	pipeline    *policy.Pipeline // the breaker alone, for Execute

	mu            sync.Mutex
	successes     int   // trial successes since the breaker went half-open
	trialFailures int   // trial failures since then: 0 until one reopens it
	manualTrials  int   // the trials in flight that CanExecute admitted, which manual records free
	trips         int   // trips since the breaker last closed
	openedAt      int64 // when it last opened, on its clock
	win           window
	notifier
}

var _ policy.Policy = (*Breaker)(nil)

// The layout of Breaker.word: the state in the low bits, the consecutive
// failures above it, the generation in the high half.
const (
	stateBits = 3
	stateMask = 1<<stateBits - 1
	failOne   = 1 << stateBits
	failMask  = (1<<29 - 1) << stateBits
	genShift  = 32
)

func pack(s State, gen uint32) uint64 { return uint64(gen)<<genShift | uint64(s) }
func stateOf(w uint64) State          { return State(w & stateMask) }
func failsOf(w uint64) int            { return int(w&failMask) >> stateBits }
func genOf(w uint64) uint32           { return uint32(w >> genShift) }

// New returns a closed breaker named name, which trips and recovers as cfg
// says. The name labels the breaker's errors, listeners and telemetry, so it
// should come from code, never from request data, and be unique among the
// breakers of a meter provider. New fails, with an error matching
// [ErrInvalidConfig] that names the field, when name is empty or cfg is
// invalid.
//
// Use [Get] instead to share breakers by name across a program.
func New(name string, cfg Config, opts ...Option) (*Breaker, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: the breaker's name is empty", ErrInvalidConfig)
	}
	s, err := cfg.settings()
	if err != nil {
		return nil, fmt.Errorf("breaker %q: %w", name, err)
	}
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	b := &Breaker{
		name:      name,
		s:         s,
		epoch:     time.Now(),
		fullErr:   &OpenError{Name: name, State: HalfOpen},
		forcedErr: &OpenError{Name: name, State: ForcedOpen},
	}
	b.timed = s.window != nil && s.window.slow > 0
	b.consecutive = s.window == nil
	b.win.init(s.window)
	b.pipeline = policy.MustNew(name, b).With(policy.WithTracerProvider(o.tp), policy.WithMeterProvider(o.mp))
	track(b, o.mp)
	return b, nil
}

// Name returns the breaker's name.
func (b *Breaker) Name() string { return b.name }

// now reads the breaker's clock: nanoseconds since New, monotonic.
func (b *Breaker) now() int64 { return int64(time.Since(b.epoch)) }

// timeAt converts a reading of the breaker's clock to a time.
func (b *Breaker) timeAt(n int64) time.Time { return b.epoch.Add(time.Duration(n)) }

// callKind says what admitted a call, and so how its outcome counts.
type callKind uint8

const (
	passCall   callKind = iota // disabled breaker: counts nothing
	closedCall                 // closed breaker
	trialCall                  // half-open breaker: holds a trial slot
)

// ticket is what admitting a call gives the code that records its outcome.
// With four fields at most it stays in registers (the compiler keeps only
// such structs out of memory), which the closed path needs to be fast.
type ticket struct {
	kind  callKind
	flags uint8  // flagTimed, flagHalfOpened
	gen   uint32 // the generation that admitted the call
	// at is a reading of the breaker's clock: when the call started, for a
	// timed call; the time left until the next trial, for a call rejected
	// by an open breaker.
	at int64
}

const (
	flagTimed      uint8 = 1 << iota // at is when the call started: slow calls are counted
	flagHalfOpened                   // admitting the call moved the breaker from open to half-open
)

func (t ticket) timed() bool { return t.flags&flagTimed != 0 }

// change is a change of state, for the execution that caused it to report.
type change struct {
	ok       bool
	from, to State
}

// Run runs the rest of the pipeline when the breaker admits the call, and
// counts its outcome; otherwise it returns an [*OpenError] at once, without
// running it. It reports rejections (Reason "open", "half_open_full" or
// "forced_open", Delay the time until the next trial) and the changes of
// state the execution causes.
func (b *Breaker) Run(ctx context.Context, ex policy.Execution) error {
	if ctx.Err() != nil {
		return policy.ContextError(ctx) // a call that cannot start says nothing of the dependency
	}
	// admit, with its fast path inlined by hand.
	var t ticket
	var rej *OpenError
	if w := b.word.Load(); w&stateMask == uint64(Closed) && !b.timed {
		t = ticket{kind: closedCall, gen: genOf(w)}
	} else {
		t, rej = b.admitOther()
	}
	if t.flags&flagHalfOpened != 0 {
		reportChange(ex, change{ok: true, from: Open, to: HalfOpen})
	}
	if rej != nil {
		ex.Report(policy.Event{
			Kind:   policy.EventBreakerRejected,
			Reason: rej.reason(),
			Delay:  time.Duration(t.at),
			Err:    rej,
		})
		return rej
	}
	finished := false
	defer func() {
		if !finished { // a panic in a policy inside the breaker
			b.finish(t, Failure)
		}
	}()
	err := ex.Next(ctx)
	finished = true
	if err != nil || t.kind != closedCall || !b.consecutive || b.word.Load()&failMask != 0 {
		if ch := b.finishOther(t, b.verdict(err)); ch.ok {
			reportChange(ex, ch)
		}
	}
	return err
}

func reportChange(ex policy.Execution, ch change) {
	ex.Report(policy.Event{Kind: policy.EventBreakerStateChange, From: ch.from.String(), To: ch.to.String()})
}

// Execute runs fn through the breaker alone: in a pipeline that holds only
// the breaker and is named after it, so the call has its spans, events and
// metrics like any execution (see package policy). It returns an [*OpenError]
// at once, without running fn, when the breaker refuses the call. When ctx is
// done before the call, Execute returns its error and counts nothing. A panic
// in fn counts as a failure, frees what the call holds, and goes on up the
// stack.
//
// The manual API ([Breaker.Allow], [Breaker.CanExecute]) is the breaker
// without the pipeline, for callers that record nothing.
func (b *Breaker) Execute(ctx context.Context, fn func(context.Context) error) error {
	return b.pipeline.Execute(ctx, fn)
}

// admit decides whether a call may run: it returns the call's ticket, or the
// rejection. Its closed path, the hot one, reads one word; Run and Execute
// copy it, as the compiler will not inline admit.
func (b *Breaker) admit() (ticket, *OpenError) {
	if w := b.word.Load(); w&stateMask == uint64(Closed) && !b.timed {
		return ticket{kind: closedCall, gen: genOf(w)}, nil
	}
	return b.admitOther()
}

// admitOther is admit for the other states, and for timed calls.
func (b *Breaker) admitOther() (ticket, *OpenError) {
	w := b.word.Load()
	switch stateOf(w) {
	case Closed:
		t := ticket{kind: closedCall, gen: genOf(w)}
		if b.timed {
			t.flags, t.at = flagTimed, b.now()
		}
		return t, nil
	case Disabled:
		return ticket{kind: passCall}, nil
	case ForcedOpen:
		return ticket{}, b.forcedErr
	case Open:
		e := b.openErr.Load()
		if now := b.now(); now < e.trialAt {
			return ticket{at: e.trialAt - now}, e
		}
	}
	return b.admitSlow()
}

// admitSlow is admit for the open breaker whose cooldown is over, and for the
// half-open one: under the lock.
func (b *Breaker) admitSlow() (ticket, *OpenError) {
	now := b.now()
	b.mu.Lock()
	w := b.word.Load()
	var t ticket
	switch stateOf(w) {
	case Open:
		e := b.openErr.Load()
		if now < e.trialAt {
			b.mu.Unlock()
			return ticket{at: e.trialAt - now}, e
		}
		b.transitionLocked(HalfOpen)
		t.flags |= flagHalfOpened
		w = b.word.Load()
	case HalfOpen:
	default: // it changed since admitOther looked: start again
		b.mu.Unlock()
		return b.admitOther()
	}
	if int(b.trials.Load()) >= b.s.halfOpenMax {
		b.mu.Unlock()
		b.afterChange(t.flags&flagHalfOpened != 0)
		return t, b.fullErr
	}
	b.trials.Add(1)
	b.mu.Unlock()
	b.afterChange(t.flags&flagHalfOpened != 0)
	t.kind, t.gen = trialCall, genOf(w)
	if b.timed {
		t.flags, t.at = t.flags|flagTimed, now
	}
	return t, nil
}

// finish counts the outcome v of the call that t admitted, and returns the
// change of state that made, if any. A success in consecutive mode with no
// failures to reset, the hot path, reads one word; Run and Execute copy that
// test, as the compiler will not inline finish.
func (b *Breaker) finish(t ticket, v Verdict) change {
	if v == Success && t.kind == closedCall && b.consecutive && b.word.Load()&failMask == 0 {
		return change{}
	}
	return b.finishOther(t, v)
}

func (b *Breaker) finishOther(t ticket, v Verdict) change {
	switch t.kind {
	case closedCall:
		if b.s.window == nil {
			return b.recordConsecutive(t.gen, v)
		}
		return b.recordWindow(t, v)
	case trialCall:
		return b.recordTrial(t, v)
	}
	return change{}
}

// recordConsecutive counts the outcome of a call admitted closed, in
// consecutive mode: lock-free, and without reading the clock unless the
// breaker trips. A success when there are no failures to reset writes
// nothing.
func (b *Breaker) recordConsecutive(gen uint32, v Verdict) change {
	for {
		w := b.word.Load()
		if genOf(w) != gen || stateOf(w) != Closed || v == Ignore {
			return change{} // admitted before a change of state: stale
		}
		if v == Success {
			if failsOf(w) == 0 || b.word.CompareAndSwap(w, w&^failMask) {
				return change{}
			}
			continue
		}
		if b.word.CompareAndSwap(w, w+failOne) {
			if failsOf(w)+1 < b.s.failureThreshold {
				return change{}
			}
			return b.trip(gen)
		}
	}
}

// trip opens the closed breaker of generation gen, if it still has as many
// consecutive failures as the threshold.
func (b *Breaker) trip(gen uint32) change {
	b.mu.Lock()
	var ch change
	if w := b.word.Load(); genOf(w) == gen && stateOf(w) == Closed && failsOf(w) >= b.s.failureThreshold {
		ch = b.transitionLocked(Open)
	}
	b.mu.Unlock()
	b.afterChange(ch.ok)
	return ch
}

// recordWindow counts the outcome of a call admitted closed, in
// sliding-window mode.
func (b *Breaker) recordWindow(t ticket, v Verdict) change {
	if v == Ignore {
		return change{}
	}
	var now int64
	if t.timed() || b.s.window.buckets > 0 {
		now = b.now()
	}
	slow := t.timed() && now-t.at >= int64(b.s.window.slow)
	if v == Success && !slow && b.win.clean.Load() {
		// The window is full of successes: this one changes nothing. (Or
		// the call is stale, and would not count.)
		return change{}
	}
	b.mu.Lock()
	var ch change
	if w := b.word.Load(); genOf(w) == t.gen && stateOf(w) == Closed {
		b.win.add(now, v == Failure, slow)
		if b.win.tripped(v == Failure, slow) {
			ch = b.transitionLocked(Open)
		}
	}
	b.mu.Unlock()
	b.afterChange(ch.ok)
	return ch
}

// recordTrial frees the slot of a trial call, and counts its outcome if the
// breaker is still in the half-open state that admitted it.
func (b *Breaker) recordTrial(t ticket, v Verdict) change {
	var now int64
	if t.timed() {
		now = b.now()
	}
	b.mu.Lock()
	b.trials.Add(-1)
	var ch change
	if w := b.word.Load(); genOf(w) == t.gen && stateOf(w) == HalfOpen {
		if v == Success && t.timed() && now-t.at >= int64(b.s.window.slow) {
			v = Failure // a slow trial: the dependency has not recovered
		}
		ch = b.trialLocked(v)
	}
	b.mu.Unlock()
	b.afterChange(ch.ok)
	return ch
}
