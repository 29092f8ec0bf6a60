package retry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/resilience/internal/durfmt"
	"github.com/aragora/resilience/policy"
)

// Retry is a policy that runs the rest of a pipeline again when it fails with
// an error worth retrying, waiting a growing, jittered delay between
// attempts. It is safe for concurrent use; build one per dependency with
// [New] and reuse it. A zero Retry, or a nil *Retry, has no configuration and
// runs nothing: its Run and Execute return [ErrNotBuilt].
type Retry struct {
	s        settings
	opts     *options
	pipeline *policy.Pipeline // for Execute
}

var _ policy.Policy = (*Retry)(nil)

// ErrNotBuilt is returned by the methods of a Retry that [New] did not build:
// a zero Retry or a nil *Retry.
var ErrNotBuilt = errors.New("retry: a zero or nil Retry has no configuration: build it with retry.New")

// New returns a retry policy configured by cfg and opts. It fails, with an
// error naming the field, when cfg is invalid: a negative count or delay, a
// MaxDelay below BaseDelay, an unknown Strategy or Jitter, a nil entry in
// RetryOn. New copies cfg.RetryOn, so later changes to the slice do not
// change the policy.
func New(cfg Config, opts ...Option) (*Retry, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Retry{s: *cfg.settings(), opts: applyOptions(opts)}
	r.s.retryOn = append([]error(nil), r.s.retryOn...)
	p, err := policy.New(r.opts.name, r)
	if err != nil {
		return nil, err
	}
	r.pipeline = p
	return r, nil
}

// Name returns the policy's name, "retry" unless [WithName] set another: the
// policy attribute of its events in telemetry.
func (r *Retry) Name() string {
	if r == nil || r.opts == nil {
		return noOptions.name
	}
	return r.opts.name
}

// Execute runs fn through a pipeline that holds only r, named after r, with
// that pipeline's telemetry: a span per execution and per attempt, an event
// per decision. To combine the retry with other policies, put it in a
// [policy.Pipeline] instead.
func (r *Retry) Execute(ctx context.Context, fn func(context.Context) error) error {
	if r == nil || r.pipeline == nil {
		return ErrNotBuilt
	}
	return r.pipeline.Execute(ctx, fn)
}

// Run implements [policy.Policy]: it runs the rest of the pipeline until an
// attempt succeeds, fails with an error not worth retrying, or the retries
// run out, and reports each retry, the exhaustion of the retries and the
// refusals of a budget as events.
func (r *Retry) Run(ctx context.Context, ex policy.Execution) error {
	if r == nil || r.opts == nil {
		return ErrNotBuilt
	}
	if rc := r.opts.result; rc != nil {
		if typ := ex.ResultType(); typ != nil && typ != rc.typ {
			return rc.misfit(typ)
		}
	}
	l := loop{s: &r.s, o: r.opts, ex: ex, piped: true}
	if b := l.o.budget; b != nil {
		b.begin()
		defer l.end()
	}
	var err error
	for {
		if l.attempts > 0 && ctx.Err() != nil {
			// The wait's timer and the context raced, and the timer won.
			return l.stopped(ctx, err, "after attempt")
		}
		l.attempts++
		err = ex.Next(ctx)
		if err == nil && (l.o.result == nil || !l.o.result.boxed(ex.Result())) {
			l.succeeded()
			return nil
		}
		if again, stop := l.after(ctx, err); !again {
			return stop
		}
	}
}

// loop is the state of one execution of a Retry: what it has done so far and
// the one timer its waits reuse. It lives on the caller's stack.
type loop struct {
	s        *settings // nil in Do and Get until an attempt fails
	o        *options
	ex       policy.Execution // valid when piped
	piped    bool             // run by a pipeline: events go to ex
	attempts int              // attempts made so far
	prev     time.Duration    // the last computed delay, for DecorrelatedJitter
	timer    *time.Timer      // made at the first wait, reset at the others
	holding  bool             // a retry holds a share of the budget
}

// end releases what the execution holds of its budget, however it ends: it
// is deferred, so that a panic that unwinds through Do releases it too. The
// timer needs no stopping: a wait either receives its tick or stops it.
func (l *loop) end() {
	b := l.o.budget
	if l.holding {
		l.holding = false
		b.release()
	}
	b.end()
}

func (l *loop) succeeded() {
	if b := l.o.budget; b != nil {
		b.succeeded()
	}
}

func (l *loop) operation() string {
	if l.piped {
		return l.ex.Name()
	}
	return l.o.name
}

func (l *loop) report(e policy.Event) {
	if l.piped {
		l.ex.Report(e)
	}
}

// after decides what follows an attempt that failed with err, or that
// succeeded (err == nil) with a result that asks for a retry. When a retry
// should follow, it reports it, waits for it and returns true; otherwise it
// returns the error the execution ends with.
func (l *loop) after(ctx context.Context, err error) (again bool, _ error) {
	b := l.o.budget
	if l.holding {
		// The retry's attempt has ended.
		l.holding = false
		b.release()
	}

	var pushback time.Duration
	if err != nil {
		if _, panicked := find[*policy.PanicError](err); panicked {
			return false, err
		}
		if _, permanent := find[*permanentError](err); permanent {
			return false, err
		}
		if ctx.Err() != nil {
			// The caller's own context is done: its cancellation or deadline
			// is not a failure of the dependency. A per-attempt timeout
			// inside the retry leaves ctx alive, and is retried below.
			return false, l.stopped(ctx, err, "after attempt")
		}
		var hasPushback bool
		var ra retryAfterer
		if ra, hasPushback = find[retryAfterer](err); hasPushback {
			pushback = ra.RetryAfter()
		}
		rejected := errors.Is(err, policy.ErrRejected)
		switch {
		case hasPushback && (pushback < 0 || pushback > l.s.max && !rejected):
			// The error says not to retry, or not before a pause longer than
			// MaxDelay allows. Server pushback of this kind counts as a
			// failure for a budget, as gRPC counts it.
			if b != nil && !rejected {
				b.failed()
			}
			return false, err
		case rejected && (!l.s.retryRejected || pushback > l.s.max):
			return false, err
		case !l.s.classify(err):
			return false, err
		}
		if b != nil && !rejected {
			// A rejection did not reach the dependency: it says nothing of
			// the dependency's health.
			b.failed()
		}
	} else if ctx.Err() != nil {
		// A result that asks for a retry, but the caller has given up: as
		// for an error, the execution ends with the context's error.
		return false, l.stopped(ctx, nil, "after attempt")
	} else if b != nil {
		b.failed() // a result that asks for a retry is a failure too
	}

	if l.attempts > l.s.maxRetries {
		return false, l.exhausted(err)
	}

	var d time.Duration
	if pushback > 0 {
		d = pushback // at most MaxDelay: a longer one ended the retries above
	} else {
		d = l.s.delay(l.attempts, l.prev, nil)
		l.prev = d
	}
	if dl, ok := ctx.Deadline(); ok && d >= time.Until(dl) {
		// The next attempt could not start before the deadline: fail now,
		// rather than wait to fail. A timeout that set this deadline turns
		// the DeadlineError into its own timeout.
		return false, fmt.Errorf("retry: a wait of %v to retry would pass the context's deadline: %w",
			durfmt.Round(d), &policy.DeadlineError{Deadline: dl, Err: err})
	}
	if b != nil {
		if !b.acquire() {
			l.report(policy.Event{Kind: policy.EventRetryBudgetExhausted, Attempt: l.attempts, Err: err})
			if err == nil {
				return false, &budgetError{attempts: l.attempts}
			}
			return false, err
		}
		l.holding = true
	}

	next := l.attempts + 1
	l.report(policy.Event{Kind: policy.EventRetry, Attempt: next, Delay: d, Err: err})
	for _, fn := range l.o.onRetry {
		fn(l.operation(), next, d)
	}
	return l.wait(ctx, d, err)
}

// wait waits d, on the execution's one timer, or until ctx is done.
func (l *loop) wait(ctx context.Context, d time.Duration, last error) (bool, error) {
	if d <= 0 {
		if ctx.Err() != nil {
			return false, l.stopped(ctx, last, "while waiting to retry after attempt")
		}
		return true, nil
	}
	if l.timer == nil {
		l.timer = time.NewTimer(d)
	} else {
		l.timer.Reset(d)
	}
	select {
	case <-l.timer.C:
		return true, nil
	case <-ctx.Done():
		l.timer.Stop()
		return false, l.stopped(ctx, last, "while waiting to retry after attempt")
	}
}

// stopped returns the error of an execution whose context is done: the
// context's error, wrapped with the last attempt's, unless that already is
// the context's error.
func (l *loop) stopped(ctx context.Context, last error, when string) error {
	cerr := policy.ContextError(ctx)
	if last == nil {
		return cerr
	}
	if errors.Is(last, ctx.Err()) {
		return last
	}
	return fmt.Errorf("retry: %w %s %d: %w", cerr, when, l.attempts, last)
}

func (l *loop) exhausted(err error) error {
	l.report(policy.Event{Kind: policy.EventRetryExhausted, Attempt: l.attempts, Err: err})
	for _, fn := range l.o.onExhausted {
		fn(l.operation(), l.attempts)
	}
	return &ExhaustedError{Attempts: l.attempts, Err: err}
}
