package ratelimit

import (
	"errors"
	"fmt"
	"time"

	"github.com/aragora/resilience/internal/durfmt"
	"github.com/aragora/resilience/policy"
)

// ErrRateLimited is matched, through [errors.Is], by the error of every call
// a rate limiter refused: no permit was free, and none would be within the
// wait the call was allowed. It also matches [policy.ErrRejected]. Use
// [errors.As] with a [*RejectedError] to read when to try again.
var ErrRateLimited = errors.New("ratelimit: rate limited")

// ErrInvalidConfig is matched by the error of a constructor given a rate, a
// burst, a size or an option it cannot use. The message names the culprit.
var ErrInvalidConfig = errors.New("ratelimit: invalid config")

// ErrNotBuilt is returned by the methods of a RateLimiter that [New] did not
// build: a zero RateLimiter or a nil *RateLimiter.
var ErrNotBuilt = errors.New("ratelimit: a zero or nil RateLimiter has no limiter: build it with ratelimit.New")

// ErrCostAboveBurst is matched by the error of a call that asks for more
// permits at once than the limiter can ever hold: it would wait forever.
var ErrCostAboveBurst = errors.New("ratelimit: cost exceeds the burst")

// The reasons of the ratelimit.rejected event, in its resilience.reason
// attribute.
const (
	ReasonLimited = "limited"  // no permit was free, and the call could not wait
	ReasonMaxWait = "max_wait" // a permit would be free only after the wait the call was allowed
)

// RejectedError is the error of a call a rate limiter refused. It matches
// [ErrRateLimited] and [policy.ErrRejected] with errors.Is; RetryAfter says
// when the permits the call asked for will be free, if nobody else takes
// them first.
type RejectedError struct {
	Limiter    string        // the name of the limiter that refused the call
	MaxWait    time.Duration // the wait the call was allowed; 0 when it could not wait
	retryAfter time.Duration
}

// NewRejectedError returns the error of a call that limiter refused, whose
// permits will be free after retryAfter. Limiters of other packages, such as
// a shared one, use it so that their refusals look alike.
func NewRejectedError(limiter string, maxWait, retryAfter time.Duration) *RejectedError {
	return &RejectedError{Limiter: limiter, MaxWait: maxWait, retryAfter: retryAfter}
}

// RetryAfter returns how long from the refusal the call's permits will be
// free, if nobody else takes them first: the value of a Retry-After header.
func (e *RejectedError) RetryAfter() time.Duration { return e.retryAfter }

// Error says which limiter refused the call, and when to try again.
func (e *RejectedError) Error() string {
	if e.MaxWait > 0 {
		return fmt.Sprintf("ratelimit: %q: no permit within %v; retry after %v", e.Limiter, durfmt.Round(e.MaxWait), durfmt.Round(e.retryAfter))
	}
	return fmt.Sprintf("ratelimit: %q: rate limited; retry after %v", e.Limiter, durfmt.Round(e.retryAfter))
}

// Is reports whether target is [ErrRateLimited] or [policy.ErrRejected].
func (e *RejectedError) Is(target error) bool {
	return target == ErrRateLimited || target == policy.ErrRejected
}

// ErrorType returns "rate_limited", the error.type of a refusal in telemetry.
func (e *RejectedError) ErrorType() string { return "rate_limited" }

// Reason returns [ReasonMaxWait] for a call that was allowed to wait, and
// [ReasonLimited] for one that was not: the reason of the ratelimit.rejected
// event.
func (e *RejectedError) Reason() string {
	if e.MaxWait > 0 {
		return ReasonMaxWait
	}
	return ReasonLimited
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}
