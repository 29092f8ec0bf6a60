package timeout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/resilience/internal/durfmt"
	"github.com/aragora/resilience/policy"
)

// ErrTimeout is matched, through errors.Is, by every error this package
// returns when a time limit runs out, and by the cause of the contexts it
// derives (context.Cause).
var ErrTimeout = errors.New("timeout: time limit exceeded")

// Error is returned when a function's time limit ran out. It matches
// [ErrTimeout] and [context.DeadlineExceeded] with errors.Is, and unwraps to
// the error the function returned.
type Error struct {
	Limit time.Duration // the time limit that ran out
	Err   error         // what the function returned; nil in a context's cause
}

// Error says which limit ran out, and what the function returned.
func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("timeout: time limit of %v exceeded", durfmt.Round(e.Limit))
	}
	return fmt.Sprintf("timeout: time limit of %v exceeded: %v", durfmt.Round(e.Limit), e.Err)
}

// Is reports whether target is ErrTimeout or context.DeadlineExceeded.
func (e *Error) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// Unwrap returns the error the function returned.
func (e *Error) Unwrap() error { return e.Err }

// ErrorType returns "timeout", the error.type of a timeout in telemetry.
func (e *Error) ErrorType() string { return "timeout" }

// Timeout reports true, as net.Error's method does.
func (e *Error) Timeout() bool { return true }

// Timeout is a policy that bounds the time the rest of a pipeline may run. It
// is safe for concurrent use. Build it with [New]: a zero Timeout, or a nil
// *Timeout, has no limit and runs nothing; its Run and Execute return
// [ErrNotBuilt].
type Timeout struct {
	limit    time.Duration
	cause    *Error // the cause of the contexts it derives
	cfg      config
	pipeline *policy.Pipeline // for Execute
}

var _ policy.Policy = (*Timeout)(nil)

// ErrNotBuilt is returned by the methods of a Timeout that [New] did not
// build: a zero Timeout or a nil *Timeout.
var ErrNotBuilt = errors.New("timeout: a zero or nil Timeout has no limit: build it with timeout.New")

// New returns a policy that gives the rest of the pipeline limit to run,
// through a context deadline whose cause matches ErrTimeout and
// context.DeadlineExceeded. New fails when limit is not positive.
//
// When the function fails after the limit ran out, the execution fails with
// an [*Error] wrapping the function's error, or with what the fallback
// returns (see [WithFallback]). A function that returns nil wins, even at the
// limit: its work is done, and calling it a timeout would invite a retry of
// work that succeeded. A function that panics is a panic, never a timeout,
// even after the limit: the [*policy.PanicError] passes through untouched,
// and neither the listeners nor the fallback hear of it, so that an outer
// breaker counts the failure.
//
// A policy inside the timeout that stops early because its next step would
// pass the timeout's deadline (a retry whose next wait would end after it)
// ends the execution as that timeout: its [*policy.DeadlineError] for this
// deadline becomes an [*Error], reported, and handed to the fallback, as if
// the limit had run out.
//
// The function runs on the caller's goroutine and is never abandoned: one
// that ignores its context delays the error until it returns. This is the
// choice that lets nothing outlive the call, and that keeps the policy's cost
// to that of context.WithTimeout.
func New(limit time.Duration, opts ...Option) (*Timeout, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("timeout: limit must be positive, got %v", durfmt.Round(limit))
	}
	t := &Timeout{limit: limit, cause: &Error{Limit: limit}}
	t.cfg.name = "timeout"
	for _, o := range opts {
		if o != nil {
			o.apply(&t.cfg)
		}
	}
	p, err := policy.New(t.cfg.name, t)
	if err != nil {
		return nil, err
	}
	t.pipeline = p
	return t, nil
}

// Name returns the policy's name, "timeout" unless [WithName] set another.
func (t *Timeout) Name() string {
	if t == nil || t.cfg.name == "" {
		return "timeout"
	}
	return t.cfg.name
}

// Limit returns the time limit; zero for a Timeout that [New] did not build.
func (t *Timeout) Limit() time.Duration {
	if t == nil {
		return 0
	}
	return t.limit
}

// Run implements [policy.Policy].
func (t *Timeout) Run(ctx context.Context, ex policy.Execution) error {
	if t == nil || t.cause == nil {
		return ErrNotBuilt
	}
	tctx, cancel := context.WithTimeoutCause(ctx, t.limit, t.cause)
	defer cancel()
	err := ex.Next(tctx)
	if err == nil {
		return nil
	}
	if _, panicked := errors.AsType[*policy.PanicError](err); panicked {
		return err // a panic is never a timeout
	}
	// Our own timer fired only when the cause is ours: a parent's earlier
	// deadline or the caller's cancellation leaves its own cause.
	if context.Cause(tctx) != t.cause && !ownDeadline(ctx, tctx, err) {
		return err
	}
	return t.timedOut(ctx, ex, err)
}

// ownDeadline reports whether err is a policy's early stop before tctx's
// deadline, and that deadline is the timeout's own rather than the caller's.
func ownDeadline(ctx, tctx context.Context, err error) bool {
	de, ok := errors.AsType[*policy.DeadlineError](err)
	if !ok {
		return false
	}
	ours, _ := tctx.Deadline()
	if parent, ok := ctx.Deadline(); ok && !ours.Before(parent) {
		return false // the caller's deadline, which the timeout inherited
	}
	return de.Deadline.Equal(ours)
}

func (t *Timeout) timedOut(ctx context.Context, ex policy.Execution, err error) error {
	terr := &Error{Limit: t.limit, Err: err}
	ex.Report(policy.Event{Kind: policy.EventTimeout, Attempt: ex.Attempts(), Delay: t.limit, Err: terr})
	for _, l := range t.cfg.onTimeout {
		l(ex.Name(), t.limit)
	}
	switch {
	case t.cfg.fallback != nil:
		ex.Report(policy.Event{Kind: policy.EventFallback, Err: terr})
		return t.cfg.fallback(ctx, terr)
	case t.cfg.valueFallback != nil:
		ex.Report(policy.Event{Kind: policy.EventFallback, Err: terr})
		v, ferr := t.cfg.valueFallback(ctx, terr)
		if ferr == nil && !ex.SetResult(v) {
			return fmt.Errorf("timeout: fallback value of type %T does not fit the result: %w", v, terr)
		}
		return ferr
	}
	return terr
}

// Execute runs fn in a pipeline that holds only t, named after t, with the
// pipeline's telemetry: the form for one function that needs a time limit
// and nothing else.
func (t *Timeout) Execute(ctx context.Context, fn func(context.Context) error) error {
	if t == nil || t.pipeline == nil {
		return ErrNotBuilt
	}
	return t.pipeline.Execute(ctx, fn)
}

// Do runs fn with a time limit, once: timeout.Do(ctx, 5*time.Second, fn). It
// builds its policy at every call; a hot path should build a [Timeout] once
// and reuse it.
func Do(ctx context.Context, limit time.Duration, fn func(context.Context) error, opts ...Option) error {
	t, err := New(limit, opts...)
	if err != nil {
		return err
	}
	return t.Execute(ctx, fn)
}

// Get runs fn with a time limit, once, and returns its value, or the value of
// a fallback set with [WithFallbackValue].
func Get[T any](ctx context.Context, limit time.Duration, fn func(context.Context) (T, error), opts ...Option) (T, error) {
	t, err := New(limit, opts...)
	if err != nil {
		var zero T
		return zero, err
	}
	return policy.Get(ctx, t.pipeline, fn)
}
