package fallback

import (
	"context"
	"errors"
	"fmt"

	"github.com/aragora/resilience/policy"
)

// ErrNilFunc is returned by [New] and [NewValue] when the fallback function
// is nil.
var ErrNilFunc = errors.New("fallback: the fallback function is nil")

// ErrNotBuilt is returned by the methods of a Fallback that [New] or
// [NewValue] did not build: a zero Fallback or a nil *Fallback.
var ErrNotBuilt = errors.New("fallback: a zero or nil Fallback has no function: build it with fallback.New")

// ErrResultType is matched by the error of an execution whose typed fallback
// returned a value that does not fit: the execution was not started by
// [policy.Get], or Get's type parameter is another type than the
// fallback's.
var ErrResultType = errors.New("fallback: the fallback value does not fit the execution's result")

// Error is the error of an execution whose fallback function failed too. It
// wraps both errors: errors.Is and errors.As find the replaced error and the
// fallback's own.
type Error struct {
	Replaced error // the error the fallback was asked to replace
	Err      error // what the fallback function returned
}

// Error says that the fallback failed, and why, and what it replaced.
func (e *Error) Error() string {
	return fmt.Sprintf("fallback: %v (replacing: %v)", e.Err, e.Replaced)
}

// Unwrap returns the fallback's error and the replaced one.
func (e *Error) Unwrap() []error { return []error{e.Err, e.Replaced} }

// Rejected is a predicate for [WithPredicate] that picks only refusals: the
// errors that match [policy.ErrRejected], such as an open breaker's.
func Rejected(err error) bool { return errors.Is(err, policy.ErrRejected) }

// Fallback is a policy that replaces the error of the rest of a pipeline
// with what its fallback function returns. It is safe for concurrent use.
// Build it with [New] or [NewValue]: a zero Fallback, or a nil *Fallback,
// runs nothing, and its Run, Execute and [Get] return [ErrNotBuilt].
type Fallback struct {
	name     string
	fn       func(ctx context.Context, err error) error // untyped form; nil in the typed one
	value    func(ctx context.Context, err error) (any, error)
	when     func(error) bool
	pipeline *policy.Pipeline // for Execute
}

var _ policy.Policy = (*Fallback)(nil)

// New returns a policy that, when the rest of the pipeline fails with an
// error the predicate accepts, returns fn(ctx, err) instead. fn receives the
// context the fallback was given and the error it replaces; returning nil
// turns the failure into a success. New fails when fn is nil.
func New(fn func(ctx context.Context, err error) error, opts ...Option) (*Fallback, error) {
	if fn == nil {
		return nil, ErrNilFunc
	}
	return build(&Fallback{fn: fn}, opts)
}

// NewValue returns the typed form of [New], for [policy.Get]: when the rest of
// the pipeline fails with an error the predicate accepts, fn's value becomes
// the value Get returns, and fn's error the execution's. The pipeline must
// be run by policy.Get with T as its type parameter: in any other execution a
// fallback that succeeds ends with an error matching [ErrResultType].
// NewValue fails when fn is nil.
func NewValue[T any](fn func(ctx context.Context, err error) (T, error), opts ...Option) (*Fallback, error) {
	if fn == nil {
		return nil, ErrNilFunc
	}
	return build(&Fallback{value: func(ctx context.Context, err error) (any, error) { return fn(ctx, err) }}, opts)
}

func build(f *Fallback, opts []Option) (*Fallback, error) {
	c := config{name: "fallback"}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	f.name, f.when = c.name, c.when
	p, err := policy.New(f.name, f)
	if err != nil {
		return nil, err
	}
	f.pipeline = p
	return f, nil
}

// Name returns the policy's name, "fallback" unless [WithName] set another.
func (f *Fallback) Name() string { return f.name }

// Run implements [policy.Policy].
func (f *Fallback) Run(ctx context.Context, ex policy.Execution) error {
	if f == nil || f.fn == nil && f.value == nil {
		return ErrNotBuilt
	}
	err := ex.Next(ctx)
	if !f.replaces(ctx, err) {
		return err
	}
	ex.Report(policy.Event{Kind: policy.EventFallback, Attempt: ex.Attempts(), Err: err})
	if f.fn != nil {
		if ferr := f.fn(ctx, err); ferr != nil {
			return &Error{Replaced: err, Err: ferr}
		}
		return nil
	}
	v, ferr := f.value(ctx, err)
	if ferr != nil {
		return &Error{Replaced: err, Err: ferr}
	}
	if !ex.SetResult(v) {
		return &Error{Replaced: err, Err: fmt.Errorf("%w: a %T", ErrResultType, v)}
	}
	return nil
}

// replaces reports whether err is one the fallback replaces.
func (f *Fallback) replaces(ctx context.Context, err error) bool {
	if err == nil || errors.Is(ctx.Err(), context.Canceled) {
		return false
	}
	if _, ok := errors.AsType[*policy.PanicError](err); ok {
		return false
	}
	return f.when == nil || f.when(err)
}

// Execute runs fn in a pipeline that holds only f, named after f, with the
// pipeline's telemetry.
func (f *Fallback) Execute(ctx context.Context, fn func(context.Context) error) error {
	if f == nil || f.pipeline == nil {
		return ErrNotBuilt
	}
	return f.pipeline.Execute(ctx, fn)
}

// Get runs fn in a pipeline that holds only f, as [Fallback.Execute] does,
// and returns its value, or the value of f's typed fallback function.
func Get[T any](ctx context.Context, f *Fallback, fn func(context.Context) (T, error)) (T, error) {
	if f == nil || f.pipeline == nil {
		var zero T
		return zero, ErrNotBuilt
	}
	return policy.Get(ctx, f.pipeline, fn)
}
