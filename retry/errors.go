package retry

import (
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/aragora/resilience/policy"
)

// ErrExhausted is matched, through errors.Is, by the [*ExhaustedError] an
// execution ends with when its last allowed attempt failed.
var ErrExhausted = errors.New("retry: retries exhausted")

// ExhaustedError is the error of an execution whose every allowed attempt
// failed with an error worth retrying. It matches [ErrExhausted] and unwraps
// to the last attempt's error, so errors.Is and errors.As see both.
type ExhaustedError struct {
	Attempts int   // the attempts made, MaxRetries+1
	Err      error // the last attempt's error; nil when it succeeded with a result that asked for a retry
}

// Error says how many attempts were made, and the last one's error.
func (e *ExhaustedError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("retry: gave up after %d attempts: the last result asked for a retry", e.Attempts)
	}
	return fmt.Sprintf("retry: gave up after %d attempts: %v", e.Attempts, e.Err)
}

// Is reports whether target is ErrExhausted.
func (e *ExhaustedError) Is(target error) bool { return target == ErrExhausted }

// Unwrap returns the last attempt's error.
func (e *ExhaustedError) Unwrap() error { return e.Err }

// ErrorType returns "retry_exhausted", the error.type of an exhausted
// execution in telemetry; the attempts' own spans carry the type of each
// attempt's error.
func (e *ExhaustedError) ErrorType() string { return "retry_exhausted" }

// Permanent wraps err so that no retry policy retries it, whatever the
// policy's Config says: for a function that knows its failure will not go
// away (a malformed request, a missing record). The result unwraps to err and
// has err's message; Permanent(nil) is nil.
//
// A permanent error is the caller's own verdict, not the dependency's: unlike
// an error whose RetryAfter says not to retry (server pushback), it costs a
// [Budget] nothing.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string     { return e.err.Error() }
func (e *permanentError) Unwrap() error     { return e.err }
func (e *permanentError) ErrorType() string { return policy.ErrorType(e.err) }

// retryAfterer is an error that says when to try again: HTTP Retry-After,
// gRPC pushback, an open breaker's time until its next trial.
type retryAfterer interface{ RetryAfter() time.Duration }

// find returns the first error in err's chain that is a T, walking the chain
// as errors.As does (Unwrap() error and Unwrap() []error, depth first), but
// without errors.As's allocation of a target: the policy asks at every
// failed attempt.
func find[T any](err error) (T, bool) {
	for err != nil {
		if t, ok := err.(T); ok {
			return t, true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if t, ok := find[T](e); ok {
					return t, true
				}
			}
			err = nil
		default:
			err = nil
		}
	}
	var zero T
	return zero, false
}

// classify reports whether RetryOn and RetryIf select err.
func (s *settings) classify(err error) bool {
	if len(s.retryOn) == 0 && s.retryIf == nil {
		return true
	}
	for _, target := range s.retryOn {
		if matches(err, target) {
			return true
		}
	}
	return s.retryIf != nil && s.retryIf(err)
}

// matches reports whether err matches an entry of RetryOn: by type, through
// errors.As, when target is a nil pointer; by value, through errors.Is,
// otherwise.
func matches(err, target error) bool {
	if v := reflect.ValueOf(target); v.Kind() == reflect.Pointer && v.IsNil() {
		return errors.As(err, reflect.New(v.Type()).Interface())
	}
	return errors.Is(err, target)
}

// ErrBudgetExhausted is matched, through errors.Is, by the error of an
// execution whose last attempt succeeded with a result that asked for a retry
// (see [WithRetryIfResult]) when a [Budget] refused that retry. An attempt
// that failed with an error ends, when the budget refuses its retry, with that
// error itself.
var ErrBudgetExhausted = errors.New("retry: the budget refused a retry")

// budgetError is ErrBudgetExhausted with the attempts made.
type budgetError struct{ attempts int }

func (e *budgetError) Error() string {
	return fmt.Sprintf("%v after %d attempt(s): the last result asked for a retry", ErrBudgetExhausted, e.attempts)
}

func (e *budgetError) Is(target error) bool { return target == ErrBudgetExhausted }

// ErrorType returns "retry_budget_exhausted", after the event that reports it.
func (e *budgetError) ErrorType() string { return "retry_budget_exhausted" }
