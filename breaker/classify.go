package breaker

import (
	"context"
	"errors"

	"github.com/aragora/resilience/policy"
)

// Verdict is how a call's outcome counts for a breaker.
type Verdict uint8

// The verdicts a [Classifier] gives.
const (
	// Success counts as a success: it resets the consecutive failures of a
	// closed breaker and counts towards closing a half-open one.
	Success Verdict = iota
	// Failure counts as a failure: towards opening a closed breaker, and
	// opening a half-open one again.
	Failure
	// Ignore does not count at all, as if the call had not been made; a
	// trial call ignored frees its slot without deciding anything.
	Ignore
)

// String returns "success", "failure" or "ignore".
func (v Verdict) String() string {
	switch v {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Ignore:
		return "ignore"
	}
	return "unknown"
}

// A Classifier decides how an error counts. It is called for the non-nil
// errors of the calls a breaker admits (a nil error is always a Success), from
// many goroutines at once, and must be fast. A panic in the protected function
// is always a Failure, whatever the classifier says. A Classifier that panics
// counts its call as a Failure and frees what the call holds, and its panic
// goes on up the stack.
type Classifier func(err error) Verdict

// DefaultClassifier ignores the errors that say nothing about the health of
// what the breaker protects, and counts every other error as a failure:
//   - context.Canceled: the caller gave up, the dependency did not fail;
//   - errors matching [policy.ErrRejected]: a policy inside the breaker, such
//     as a full bulkhead, refused the call, which therefore never ran.
//
// context.DeadlineExceeded counts as a failure: a dependency too slow for its
// callers' deadlines is failing them.
func DefaultClassifier(err error) Verdict {
	if errors.Is(err, context.Canceled) || errors.Is(err, policy.ErrRejected) {
		return Ignore
	}
	return Failure
}

// verdict returns how the outcome err counts.
func (b *Breaker) verdict(err error) Verdict {
	if err == nil {
		return Success
	}
	return b.classify(err)
}

func (b *Breaker) classify(err error) Verdict {
	if pe := (*policy.PanicError)(nil); errors.As(err, &pe) {
		return Failure
	}
	switch v := b.s.classify(err); v {
	case Success, Failure, Ignore:
		return v
	}
	return Failure
}
