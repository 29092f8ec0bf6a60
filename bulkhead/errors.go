package bulkhead

import (
	"errors"
	"fmt"
	"time"

	"github.com/aragora/resilience/policy"
)

// ErrFull is matched, through [errors.Is], by the error of a call that a
// bulkhead refused at once because all its permits were taken and its queue
// was full (or it has none). It also matches [policy.ErrRejected].
var ErrFull = errors.New("bulkhead: full")

// ErrWaitTimeout is matched, through [errors.Is], by the error of a call that
// waited in a bulkhead's queue for [Config.MaxWait] without getting a permit.
// It also matches [policy.ErrRejected], but not [ErrFull]: a wait that ran out
// says the protected resource is slow, a full queue that it is swamped.
var ErrWaitTimeout = errors.New("bulkhead: wait timed out")

// ErrInvalidConfig is matched by the error [New] returns for an empty name or
// a [Config] it cannot use. The message names the bulkhead and the field:
//
//	bulkhead: "pool": Config.MaxQueue is -1, want 0 (no queue) to 2147483647
var ErrInvalidConfig = errors.New("bulkhead: invalid config")

// errNotMade is the panic of the methods of a Bulkhead not made by New.
var errNotMade = errors.New("bulkhead: Bulkhead not made by New; make one with bulkhead.New or bulkhead.Get")

// The reasons of the bulkhead.rejected event, in its resilience.reason
// attribute.
const (
	ReasonQueueFull = "queue_full" // refused at once: no permit and no room in the queue
	ReasonMaxWait   = "max_wait"   // waited MaxWait without getting a permit
)

// RejectedError is the error of a call a bulkhead refused. It matches
// [policy.ErrRejected] and its Cause, [ErrFull] or [ErrWaitTimeout], with
// [errors.Is]; use [errors.As] to read which bulkhead refused and why.
//
// A bulkhead returns the same two RejectedError values for every refusal, so
// that refusing costs no allocation under overload: treat them as read-only.
type RejectedError struct {
	Bulkhead string        // the name of the bulkhead that refused the call
	Cause    error         // ErrFull or ErrWaitTimeout
	MaxWait  time.Duration // the wait that ran out, when Cause is ErrWaitTimeout
}

// Error says which bulkhead refused the call, and why.
func (e *RejectedError) Error() string {
	if e.Cause == ErrWaitTimeout {
		return fmt.Sprintf("bulkhead: %q: no permit within %v", e.Bulkhead, e.MaxWait)
	}
	return fmt.Sprintf("bulkhead: %q is full", e.Bulkhead)
}

// Is reports whether target is [policy.ErrRejected].
func (e *RejectedError) Is(target error) bool { return target == policy.ErrRejected }

// Unwrap returns the Cause.
func (e *RejectedError) Unwrap() error { return e.Cause }

// ErrorType returns "bulkhead_full" or "bulkhead_wait_timeout", the
// error.type of the refusal in telemetry.
func (e *RejectedError) ErrorType() string {
	if e.Cause == ErrWaitTimeout {
		return "bulkhead_wait_timeout"
	}
	return "bulkhead_full"
}

// Reason returns [ReasonQueueFull] or [ReasonMaxWait], the reason of the
// bulkhead.rejected event.
func (e *RejectedError) Reason() string {
	if e.Cause == ErrWaitTimeout {
		return ReasonMaxWait
	}
	return ReasonQueueFull
}
