package ratelimit

import (
	"context"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/aragora/resilience/policy"
)

// RateLimiter is a policy that lets calls through at the pace of a
// [Limiter]: a call that finds a permit goes at once; one that would find a
// permit within its wait ([WithMaxWait], and the context's deadline) waits
// for it; others are refused with a [*RejectedError]. It is safe for
// concurrent use. Build it with [New]: a zero RateLimiter, or a nil
// *RateLimiter, runs nothing, and its Run and Execute return [ErrNotBuilt].
type RateLimiter struct {
	name     string
	lim      Limiter
	cfg      config
	pipeline *policy.Pipeline       // for Execute
	backend  atomic.Pointer[string] // the backend of the last decision
}

var _ policy.Policy = (*RateLimiter)(nil)

// New returns a policy named name that admits calls at the pace of lim: a
// [Bucket], a [Keyed] limiter, or a shared limiter of another package. The
// name labels its telemetry, so it should come from code, never from request
// data. New fails, with an error matching [ErrInvalidConfig], when name is
// empty, lim is nil, or an option is invalid.
func New(name string, lim Limiter, opts ...Option) (*RateLimiter, error) {
	if name == "" {
		return nil, invalid("name is empty")
	}
	if lim == nil || reflect.ValueOf(lim).Kind() == reflect.Pointer && reflect.ValueOf(lim).IsNil() {
		return nil, invalid("limiter of %q is nil", name)
	}
	r := &RateLimiter{name: name, lim: lim}
	for _, o := range opts {
		if o != nil {
			o.apply(&r.cfg)
		}
	}
	if r.cfg.err != nil {
		return nil, r.cfg.err
	}
	p, err := policy.New(name, r)
	if err != nil {
		return nil, err
	}
	r.pipeline = p
	return r, nil
}

// Name returns the limiter's name.
func (r *RateLimiter) Name() string { return r.name }

// Limiter returns the limiter r runs.
func (r *RateLimiter) Limiter() Limiter { return r.lim }

// Run implements [policy.Policy]. It asks the limiter for the permits of the
// key and cost in ctx ([ContextWithKey], [ContextWithCost]; by default key ""
// and cost 1), waits for them if it may, and runs the rest of the pipeline.
// A refusal is reported as a ratelimit.rejected event (Delay: RetryAfter), a
// wait as ratelimit.waited (Delay: the wait), and a change of the backend
// that decides (see [Reservation].Backend) as ratelimit.backend_change. A caller whose context ends
// during the wait gets the context's error; the permits it reserved stay
// spent.
func (r *RateLimiter) Run(ctx context.Context, ex policy.Execution) error {
	if r == nil || r.lim == nil {
		return ErrNotBuilt
	}
	if err := policy.ContextError(ctx); err != nil {
		return err
	}
	c, _ := ctx.Value(callKey{}).(call)
	maxWait := r.cfg.maxWait
	if maxWait > 0 {
		if dl, ok := ctx.Deadline(); ok {
			// A permit past the deadline is no use: do not reserve it.
			maxWait = min(maxWait, time.Until(dl))
		}
	}
	res, err := r.lim.Reserve(ctx, c.key, max(c.cost, 1), maxWait)
	if err != nil {
		return err
	}
	if res.Backend != "" {
		r.noteBackend(ex, res.Backend)
	}
	if !res.OK {
		e := NewRejectedError(r.name, r.cfg.maxWait, res.RetryAfter)
		ex.Report(policy.Event{Kind: policy.EventRateLimitRejected, Reason: e.Reason(), Delay: res.RetryAfter, Err: e})
		return e
	}
	if res.Wait > 0 {
		t := time.NewTimer(res.Wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return policy.ContextError(ctx)
		}
		ex.Report(policy.Event{Kind: policy.EventRateLimitWaited, Delay: res.Wait})
	}
	return ex.Next(ctx)
}

// noteBackend reports a ratelimit.backend_change event when the backend
// that decided is not the one that decided last. The first backend seen is
// not a change.
func (r *RateLimiter) noteBackend(ex policy.Execution, backend string) {
	last := r.backend.Load()
	if last != nil && *last == backend {
		return
	}
	if !r.backend.CompareAndSwap(last, &backend) || last == nil {
		return
	}
	ex.Report(policy.Event{Kind: policy.EventRateLimitBackend, From: *last, To: backend})
}

// Execute runs fn in a pipeline that holds only r, named after r, with the
// pipeline's telemetry.
func (r *RateLimiter) Execute(ctx context.Context, fn func(context.Context) error) error {
	if r == nil || r.pipeline == nil {
		return ErrNotBuilt
	}
	return r.pipeline.Execute(ctx, fn)
}

type callKey struct{}

// call is what a context says about the call: its key and its cost.
type call struct {
	key  string
	cost int
}

// ContextWithKey returns ctx carrying the key of the limit a call counts
// against, for limiters that keep one per key ([Keyed]). Keys are data: they
// never appear in telemetry.
func ContextWithKey(ctx context.Context, key string) context.Context {
	c, _ := ctx.Value(callKey{}).(call)
	c.key = key
	return context.WithValue(ctx, callKey{}, c)
}

// ContextWithCost returns ctx carrying the number of permits a call takes:
// a batch of n items may cost n. A cost below 1 counts as 1.
func ContextWithCost(ctx context.Context, cost int) context.Context {
	c, _ := ctx.Value(callKey{}).(call)
	c.cost = cost
	return context.WithValue(ctx, callKey{}, c)
}
