package breaker

import (
	"context"
	"errors"
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
// or read: it runs no timer and no goroutine of its own. Make breakers with
// [New] or [Get]: the zero Breaker is not one, and its methods panic with a
// message that says so.
type Breaker struct {
	name  string
	s     settings
	epoch time.Time // the origin of the breaker's clock; see now

	// word packs the state, a bit that New sets, the consecutive failures
	// of a closed breaker in consecutive mode, and the generation, which
	// every change of state increments so that the outcomes of calls
	// admitted before a change are not counted after it. It changes under
	// mu, except when the closed path of consecutive mode counts failures
	// with compare-and-swap.
	word    atomic.Uint64
	openErr atomic.Pointer[OpenError] // the rejection of the current trip
	// trials are the trial calls of the current half-open period in
	// flight: those holding a slot, and manualTrials. It changes under mu,
	// and starts again from zero at every change of state.
	trials atomic.Int32

	timed       bool       // calls are timed, for the slow-call rule
	consecutive bool       // consecutive mode, not sliding-window
	fullErr     *OpenError // the rejection of a full half-open breaker
	forcedErr   *OpenError // the rejection of a forced-open breaker
	gaugeOpts   [numStates]metric.ObserveOption
	pipeline    *policy.Pipeline // the breaker alone, for Execute
	coarse      *CoarseClock     // for a time-based window, or nil
	coarseLag   int64            // the breaker's epoch on the coarse clock

	mu            sync.Mutex
	successes     int   // trial successes since the breaker went half-open
	trialFailures int   // trial failures since then: 0 until one reopens it
	manualTrials  int   // the trials in flight that CanExecute admitted, which manual records free
	slots         slots // the trial slots of Allow, Execute and Run
	trips         int   // trips since the breaker last closed
	openedAt      int64 // when it last opened, on its clock
	win           window
	notifier
}

var _ policy.Policy = (*Breaker)(nil)

// The layout of Breaker.word: the state in the low 3 bits, then the bit New
// sets, the consecutive failures (29 bits), and the generation (31 bits,
// wrapping). The bit New sets keeps the zero word, a Breaker not made by New,
// off the fast paths, which compare the low bits with closedWord.
const (
	stateMask = 1<<3 - 1
	madeBit   = 1 << 3
	liveMask  = stateMask | madeBit
	failShift = 4
	failOne   = 1 << failShift
	failMask  = (1<<29 - 1) << failShift
	genShift  = 33

	closedWord = madeBit | uint64(Closed)
)

func pack(s State, gen uint32) uint64 { return uint64(gen)<<genShift | madeBit | uint64(s) }
func stateOf(w uint64) State          { return State(w & stateMask) }
func failsOf(w uint64) int            { return int(w&failMask) >> failShift }
func genOf(w uint64) uint32           { return uint32(w >> genShift) }

// errNotMade is the panic of the methods of a Breaker not made by New.
var errNotMade = errors.New("breaker: Breaker not made by New; make one with breaker.New or breaker.Get")

// mustBeMade panics with errNotMade when w, the breaker's word, is that of a
// Breaker not made by New.
func mustBeMade(w uint64) {
	if w&madeBit == 0 {
		panic(errNotMade)
	}
}

// New returns a closed breaker named name, which trips and recovers as cfg
// says. The name labels the breaker's errors, listeners and telemetry, so it
// should come from code, never from request data. Breakers that share a name
// on one meter provider add up on the state gauge (see [MetricState]). New
// fails, with an error matching [ErrInvalidConfig] that names the field, when
// name is empty or cfg is invalid.
//
// Use [Get] instead to share breakers by name across a program.
func New(name string, cfg Config, opts ...Option) (*Breaker, error) {
	if name == "" {
		return nil, &configError{what: "name is empty"}
	}
	s, err := cfg.settings()
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
	if o.coarse != nil && s.window != nil && s.window.buckets > 0 && int64(o.coarse.resolution) > s.window.width {
		return nil, &configError{name: name, what: fmt.Sprintf("the coarse clock's resolution, %v, exceeds the window's step, %v (Duration / Buckets)",
			o.coarse.resolution, time.Duration(s.window.width))}
	}
	b := &Breaker{
		name:      name,
		s:         s,
		epoch:     time.Now(),
		fullErr:   &OpenError{Name: name, State: HalfOpen},
		forcedErr: &OpenError{Name: name, State: ForcedOpen},
	}
	if o.coarse != nil && s.window != nil && s.window.buckets > 0 {
		b.coarse, b.coarseLag = o.coarse, int64(b.epoch.Sub(o.coarse.start))
	}
	b.timed = s.window != nil && s.window.slow > 0
	b.consecutive = s.window == nil
	b.win.init(s.window)
	b.word.Store(pack(Closed, 0))
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
	kindMask   = 3
)

// ticket is what admitting a call gives the code that records its outcome.
// With four fields at most it stays in registers (the compiler keeps only
// such structs out of memory), which the closed path needs to be fast.
type ticket struct {
	kind callKind // and its flags: flagTimed, flagHalfOpened
	gen  uint32   // the generation that admitted the call
	slot uint64   // a trial's slot and its use: see slots
	// at is a reading of the breaker's clock: when the call started, for a
	// timed call; the time left until the next trial, for a call rejected
	// by an open breaker.
	at int64
}

// The flags of a ticket, in the high bits of its kind.
const (
	flagTimed      callKind = 4 << iota // at is when the call started: slow calls are counted
	flagHalfOpened                      // admitting the call moved the breaker from open to half-open
)

func (t ticket) timed() bool      { return t.kind&flagTimed != 0 }
func (t ticket) halfOpened() bool { return t.kind&flagHalfOpened != 0 }
func (t ticket) call() callKind   { return t.kind & kindMask }

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
	if w := b.word.Load(); w&liveMask == closedWord && !b.timed {
		t = ticket{kind: closedCall, gen: genOf(w)}
	} else {
		t, rej = b.admitOther(false)
	}
	if t.halfOpened() {
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
			b.finishOther(t, Failure)
		}
	}()
	err := ex.Next(ctx)
	finished = true
	if err != nil || t.kind != closedCall || !b.consecutive || b.word.Load()&failMask != 0 {
		if ch := b.finishOther(t, b.verdictFor(t, err)); ch.ok {
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
	if b.pipeline == nil {
		panic(errNotMade)
	}
	return b.pipeline.Execute(ctx, fn)
}

// admit decides whether a call may run: it returns the call's ticket, or the
// rejection. A manual call, admitted by CanExecute, takes no slot of its own
// while half-open: it counts among the manualTrials. The closed path, the hot
// one, reads one word; Run copies it, as the compiler will not inline admit.
func (b *Breaker) admit(manual bool) (ticket, *OpenError) {
	if w := b.word.Load(); w&liveMask == closedWord && !b.timed {
		return ticket{kind: closedCall, gen: genOf(w)}, nil
	}
	return b.admitOther(manual)
}

// admitOther is admit for the other states, and for timed calls.
func (b *Breaker) admitOther(manual bool) (ticket, *OpenError) {
	w := b.word.Load()
	mustBeMade(w)
	switch stateOf(w) {
	case Closed:
		t := ticket{kind: closedCall, gen: genOf(w)}
		if b.timed {
			t.kind, t.at = t.kind|flagTimed, b.now()
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
	return b.admitSlow(manual)
}

// admitSlow is admit for the open breaker whose cooldown is over, and for the
// half-open one: under the lock.
func (b *Breaker) admitSlow(manual bool) (ticket, *OpenError) {
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
		t.kind |= flagHalfOpened
		w = b.word.Load()
	case HalfOpen:
	default: // it changed since admitOther looked: start again
		b.mu.Unlock()
		return b.admitOther(manual)
	}
	if int(b.trials.Load()) >= b.s.halfOpenMax {
		b.mu.Unlock()
		b.afterChange(t.halfOpened())
		return t, b.fullErr
	}
	t.kind, t.gen = t.kind|trialCall, genOf(w)
	if manual {
		b.manualTrials++
	} else {
		t.slot = b.slots.take()
	}
	b.trials.Add(1)
	b.mu.Unlock()
	if b.timed {
		t.kind, t.at = t.kind|flagTimed, now
	}
	if t.halfOpened() {
		b.deliverForTrial(t, manual)
	}
	return t, nil
}

// deliverForTrial delivers the change to half-open that admitting trial t
// caused. When a listener panics, the trial, which will not run, frees its
// slot, and the panic goes on.
func (b *Breaker) deliverForTrial(t ticket, manual bool) {
	delivered := false
	defer func() {
		if delivered {
			return
		}
		if manual {
			b.mu.Lock()
			if genOf(b.word.Load()) == t.gen && b.manualTrials > 0 {
				b.manualTrials--
				b.trials.Add(-1)
			}
			b.mu.Unlock()
			return
		}
		b.recordTrial(t, Ignore)
	}()
	b.deliver()
	delivered = true
}

// finish counts the outcome v of the call that t admitted, and returns the
// change of state that made, if any. A success in consecutive mode with no
// failures to reset, the hot path, reads one word; Run copies that test, as
// the compiler will not inline finish.
func (b *Breaker) finish(t ticket, v Verdict) change {
	if v == Success && t.kind == closedCall && b.consecutive && b.word.Load()&failMask == 0 {
		return change{}
	}
	return b.finishOther(t, v)
}

func (b *Breaker) finishOther(t ticket, v Verdict) change {
	switch t.call() {
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

// verdictFor returns how the outcome err of the call that t admitted counts.
// When the Classifier panics, the call counts as a failure and frees what it
// holds, and the panic goes on up the stack.
func (b *Breaker) verdictFor(t ticket, err error) Verdict {
	if err == nil {
		return Success
	}
	classified := false
	defer func() {
		if !classified {
			b.finishOther(t, Failure)
		}
	}()
	v := b.classify(err)
	classified = true
	return v
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

// recordTrial frees the slot of a trial call, and counts its outcome if the
// call still holds its slot: if the breaker is still in the half-open period
// that admitted it, and the call was not recorded yet.
func (b *Breaker) recordTrial(t ticket, v Verdict) change {
	var now int64
	if t.timed() {
		now = b.now()
	}
	b.mu.Lock()
	var ch change
	if w := b.word.Load(); genOf(w) == t.gen && stateOf(w) == HalfOpen && b.slots.free(t.slot) {
		b.trials.Add(-1)
		if v == Success && t.timed() && now-t.at >= int64(b.s.window.slow) {
			v = Failure // a slow trial: the dependency has not recovered
		}
		ch = b.trialLocked(v)
	}
	b.mu.Unlock()
	b.afterChange(ch.ok)
	return ch
}
