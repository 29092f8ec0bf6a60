package policy

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// ErrRejected is matched, through [errors.Is], by every error with which a
// policy refuses to run the rest of a pipeline: an open breaker, a full
// bulkhead. Each policy's own sentinel matches too, such as breaker.ErrOpen.
var ErrRejected = errors.New("policy: rejected")

// PanicError is what the policies of a pipeline see when the user's function
// panics: an ordinary error, so that each of them releases what it holds and
// counts a failure. [Pipeline.Execute] then raises the original panic again,
// so a PanicError never reaches the caller of Execute.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the panicking goroutine's stack, as debug.Stack formats it
}

// Error returns "policy: panic: " and the panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("policy: panic: %v", e.Value) }

// ErrorType returns "panic", the error.type of a panic in telemetry.
func (e *PanicError) ErrorType() string { return "panic" }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Outcome classifies how an attempt or an execution ended.
type Outcome uint8

// The outcomes, in the resilience.outcome span attribute and the outcome
// metric attribute.
const (
	Success  Outcome = iota // fn returned nil
	Failure                 // fn, or a policy, returned an error
	Rejected                // a policy refused to run fn: the error matches ErrRejected
	Panic                   // fn panicked
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"success", "failure", "rejected", "panic"}

// String returns "success", "failure", "rejected" or "panic".
func (o Outcome) String() string {
	if o >= numOutcomes {
		return "unknown"
	}
	return outcomeNames[o]
}

// OutcomeOf classifies the error an attempt or an execution ended with.
func OutcomeOf(err error) Outcome {
	if err == nil {
		return Success
	}
	var pe *PanicError
	if errors.As(err, &pe) {
		return Panic
	}
	if errors.Is(err, ErrRejected) {
		return Rejected
	}
	return Failure
}

// ErrorType returns a short, low-cardinality name for err's kind, for the
// error.type attribute of OpenTelemetry's semantic conventions: the value of
// the first ErrorType() string method in err's chain, "canceled" or
// "deadline_exceeded" for the context errors, and else err's Go type, such as
// "*net.OpError". It returns "" for a nil error.
func ErrorType(err error) string {
	if err == nil {
		return ""
	}
	var typed interface{ ErrorType() string }
	if errors.As(err, &typed) {
		return typed.ErrorType()
	}
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	}
	return reflect.TypeOf(err).String()
}

// ContextError returns the error an execution ends with when ctx is done, and
// nil while it is not: ctx's cause when that matches ctx.Err() (a timeout
// policy's cause matches context.DeadlineExceeded, so it says more), and
// ctx.Err() otherwise, so that errors.Is(err, context.Canceled) keeps working
// for callers that cancel with a cause of their own. Policies that stop on a
// done context return it, to end executions the way the pipeline does.
func ContextError(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil && cause != err && errors.Is(cause, err) {
		return cause
	}
	return err
}

// DeadlineError is the error of a policy that stops before its context's
// deadline because what it would do next cannot end before that deadline: a
// retry whose next wait would pass it. It matches context.DeadlineExceeded
// with errors.Is, says what it says, and unwraps to the last attempt's error.
//
// A policy that set that deadline, such as a timeout, treats it as its own
// limit running out: it compares Deadline with the deadline it gave the rest
// of the pipeline.
type DeadlineError struct {
	Deadline time.Time // the context's deadline that the next step would pass
	Err      error     // the last attempt's error; nil when there is none
}

// Error returns "context deadline exceeded", as the context error does, and
// the last attempt's error after it.
func (e *DeadlineError) Error() string {
	if e.Err == nil {
		return context.DeadlineExceeded.Error()
	}
	return context.DeadlineExceeded.Error() + "; last attempt: " + e.Err.Error()
}

// Is reports whether target is context.DeadlineExceeded.
func (e *DeadlineError) Is(target error) bool { return target == context.DeadlineExceeded }

// Unwrap returns the last attempt's error.
func (e *DeadlineError) Unwrap() error { return e.Err }

// ErrorType returns "deadline_exceeded", the name [ErrorType] gives the
// context error, whatever the last attempt's error was: a DeadlineError says
// why the execution ended early, not what failed last.
func (e *DeadlineError) ErrorType() string { return "deadline_exceeded" }

// attemptErrorType returns the error.type of an attempt that ended with err
// in ctx: the type of ctx's cause when err is ctx's own error, so that an
// attempt a timeout policy cut short says "timeout", as the timeout event
// does, and [ErrorType] of err otherwise.
func attemptErrorType(ctx context.Context, err error) string {
	if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
		if cause := ContextError(ctx); cause != cerr {
			return ErrorType(cause)
		}
	}
	return ErrorType(err)
}
