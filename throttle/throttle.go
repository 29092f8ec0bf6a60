package throttle

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aragora/resilience/policy"
)

// ErrThrottled is matched, through [errors.Is], by the error of every call a
// throttle refused locally. It also matches [policy.ErrRejected].
var ErrThrottled = errors.New("throttle: throttled")

// ErrNotBuilt is returned by the methods of a Throttle that [New] did not
// build: a zero Throttle or a nil *Throttle.
var ErrNotBuilt = errors.New("throttle: a zero or nil Throttle has no window: build it with throttle.New")

// ErrInvalidConfig is matched by the error [New] returns for a [Config] it
// cannot use. The message names the offending field.
var ErrInvalidConfig = errors.New("throttle: invalid config")

// ReasonAdaptive is the reason of the throttle.rejected event, in its
// resilience.reason attribute.
const ReasonAdaptive = "adaptive"

// RejectedError is the error of a call a throttle refused. It matches
// [ErrThrottled] and [policy.ErrRejected] with errors.Is. A throttle returns
// the same value for every refusal, so that refusing costs no allocation
// under overload: treat it as read-only.
type RejectedError struct {
	Throttle string // the name of the throttle that refused the call
}

// Error says which throttle refused the call.
func (e *RejectedError) Error() string {
	return fmt.Sprintf("throttle %q: refused locally, the backend is rejecting calls", e.Throttle)
}

// Is reports whether target is [ErrThrottled] or [policy.ErrRejected].
func (e *RejectedError) Is(target error) bool {
	return target == ErrThrottled || target == policy.ErrRejected
}

// ErrorType returns "throttled", the error.type of a refusal in telemetry.
func (e *RejectedError) ErrorType() string { return "throttled" }

// Config sizes a [Throttle]. A zero Config is the SRE book's: K = 2 over a
// window of two minutes.
type Config struct {
	// K is how many times the accepted calls the throttle lets through:
	// with K = 2 it sends the backend about twice what the backend
	// accepts. Lower is more aggressive; it must be at least 1, or the
	// throttle would refuse calls to a healthy backend, and finite (to
	// never throttle, leave the throttle out). Zero means 2.
	K float64
	// Window is how far back requests and accepts are counted. Zero
	// means two minutes. It is kept in 20 slots, so that counts age out
	// a twentieth of a window at a time.
	Window time.Duration
}

const (
	defaultK      = 2
	defaultWindow = 2 * time.Minute
	numSlots      = 20
)

func (c Config) normalize() (Config, error) {
	if c.K == 0 {
		c.K = defaultK
	}
	if c.Window == 0 {
		c.Window = defaultWindow
	}
	switch {
	case !(c.K >= 1) || math.IsInf(c.K, 1): // also NaN
		return c, fmt.Errorf("%w: K is %v, must be a finite number of at least 1", ErrInvalidConfig, c.K)
	case c.Window < numSlots:
		return c, fmt.Errorf("%w: Window is %v, must be at least %dns", ErrInvalidConfig, c.Window, numSlots)
	}
	return c, nil
}

// Throttle is a policy that refuses calls locally, before they reach a
// backend that is already refusing most of them: client-side adaptive
// throttling, as chapter 21 of Google's SRE book ("Handling Overload")
// describes it. It is safe for concurrent use. Build it with [New]: a zero
// Throttle, or a nil *Throttle, runs nothing, and its Run and Execute return
// [ErrNotBuilt].
type Throttle struct {
	name     string
	cfg      Config
	width    int64 // nanoseconds per slot
	epoch    time.Time
	slots    [numSlots]slot
	rotate   sync.Mutex // taken only to reset a slot for a new period
	past     atomic.Pointer[pastCounts]
	rejected func(error) bool
	err      *RejectedError
	pipeline *policy.Pipeline // for Execute
}

// slot counts the calls of one period of a window's twentieth: requests in
// the high 32 bits of one word, accepts in the low 32, so that counting a
// call is one atomic addition. (A slot would need 4 billion calls to
// overflow.)
type slot struct {
	period atomic.Int64 // the period counted, plus 1 (0: never used)
	counts atomic.Uint64
}

const (
	oneRequest  = 1 << 32
	oneAccepted = oneRequest + 1
)

var _ policy.Policy = (*Throttle)(nil)

// New returns a throttle named name, sized by cfg. The name labels its
// telemetry, so it should come from code, never from request data. New
// fails, with an error matching [ErrInvalidConfig], when name is empty or cfg
// cannot be used.
func New(name string, cfg Config, opts ...Option) (*Throttle, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: name is empty", ErrInvalidConfig)
	}
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	o := options{rejected: backendRejected}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	t := &Throttle{
		name:     name,
		cfg:      cfg,
		width:    int64(cfg.Window) / numSlots,
		epoch:    time.Now(),
		rejected: o.rejected,
		err:      &RejectedError{Throttle: name},
	}
	p, err := policy.New(name, t)
	if err != nil {
		return nil, err
	}
	t.pipeline = p
	return t, nil
}

// backendRejected is the default of [WithRejected]: every error.
func backendRejected(error) bool { return true }

// Name returns the throttle's name.
func (t *Throttle) Name() string { return t.name }

func (t *Throttle) period() int64 { return int64(time.Since(t.epoch)) / t.width }

// Run implements [policy.Policy]. It refuses the call with probability
// max(0, (requests − K·accepts) / (requests + 1)) over the window, reporting
// a throttle.rejected event; otherwise it runs the rest of the pipeline and
// counts the outcome. Every call counts as a request, refused ones included,
// except those the throttle cannot judge: a call whose caller cancelled it,
// one an inner policy refused (it never reached the backend), and one that
// panicked. A call counts as accepted unless it fails with an error the
// predicate of [WithRejected] picks. It counts in the window as of the time
// it started.
func (t *Throttle) Run(ctx context.Context, ex policy.Execution) error {
	if t == nil || t.width == 0 {
		return ErrNotBuilt
	}
	if err := policy.ContextError(ctx); err != nil {
		return err
	}
	now := t.period()
	if p := t.probability(now); p > 0 && rand.Float64() < p {
		t.count(now, oneRequest)
		ex.Report(policy.Event{Kind: policy.EventThrottleRejected, Reason: ReasonAdaptive, Err: t.err})
		return t.err
	}
	err := ex.Next(ctx)
	if err != nil {
		switch policy.OutcomeOf(err) {
		case policy.Rejected, policy.Panic:
			return err
		}
		if ctx.Err() != nil {
			return err
		}
	}
	accepted := err == nil || !t.rejected(err)
	// Counted in the slot of the call's start: one clock read per call,
	// which on some machines costs more than the rest of the throttle.
	if accepted {
		t.count(now, oneAccepted)
	} else {
		t.count(now, oneRequest)
	}
	return err
}

// count adds n to the slot of period now, reset if it last counted an older
// period. A call that outlasted the window finds its slot counting a later
// period: it started outside the window, and is not counted.
func (t *Throttle) count(now int64, n uint64) {
	s := &t.slots[now%numSlots]
	if s.period.Load() != now+1 {
		t.rotate.Lock()
		p := s.period.Load()
		if p < now+1 {
			s.counts.Store(0)
			s.period.Store(now + 1)
		}
		t.rotate.Unlock()
		if p > now+1 {
			return
		}
	}
	s.counts.Add(n)
}

// counts returns the requests and accepts of the window that ends in period
// now: the current slot, read live, and the 19 before it, summed once per
// period and kept in t.past. A call counted in a past slot after that sum
// (one that started in the slot and ended after it) joins the window at the
// next period's sum.
func (t *Throttle) counts(now int64) (requests, accepts int64) {
	w := t.past.Load()
	if w == nil || w.period != now {
		w = t.sumPast(now)
		if old := t.past.Load(); old == nil || old.period < now {
			t.past.CompareAndSwap(old, w)
		}
	}
	requests, accepts = w.requests, w.accepts
	if s := &t.slots[now%numSlots]; s.period.Load() == now+1 {
		c := s.counts.Load()
		requests += int64(c >> 32)
		accepts += int64(c & (oneRequest - 1))
	}
	return requests, accepts
}

// pastCounts is the sum of the 19 slots before a period.
type pastCounts struct {
	period            int64
	requests, accepts int64
}

func (t *Throttle) sumPast(now int64) *pastCounts {
	w := &pastCounts{period: now}
	for i := range t.slots {
		s := &t.slots[i]
		if p := s.period.Load() - 1; p > now-numSlots && p < now {
			c := s.counts.Load()
			w.requests += int64(c >> 32)
			w.accepts += int64(c & (oneRequest - 1))
		}
	}
	return w
}

func (t *Throttle) probability(now int64) float64 { return t.formula(t.counts(now)) }

// formula is the SRE book's: max(0, (requests − K·accepts) / (requests + 1)).
func (t *Throttle) formula(requests, accepts int64) float64 {
	return max(0, (float64(requests)-t.cfg.K*float64(accepts))/float64(requests+1))
}

// Stats is a snapshot of a throttle's window.
type Stats struct {
	Requests    int64   // calls counted in the window, refused ones included
	Accepts     int64   // calls the backend accepted
	Probability float64 // the chance that a call is refused now
}

// Stats returns the counts of the window, and the probability of a refusal
// they give: none for a Throttle that New did not build.
func (t *Throttle) Stats() Stats {
	if t == nil || t.width == 0 {
		return Stats{}
	}
	now := t.period()
	r, a := t.counts(now)
	return Stats{Requests: r, Accepts: a, Probability: t.formula(r, a)}
}

// RejectionProbability returns the chance that a call is refused now: 0 for
// a Throttle that New did not build.
func (t *Throttle) RejectionProbability() float64 {
	if t == nil || t.width == 0 {
		return 0
	}
	return t.probability(t.period())
}

// Execute runs fn in a pipeline that holds only t, named after t, with the
// pipeline's telemetry.
func (t *Throttle) Execute(ctx context.Context, fn func(context.Context) error) error {
	if t == nil || t.pipeline == nil {
		return ErrNotBuilt
	}
	return t.pipeline.Execute(ctx, fn)
}
