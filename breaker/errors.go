package breaker

import (
	"errors"
	"fmt"
	"time"

	"github.com/aragora/resilience/internal/durfmt"
	"github.com/aragora/resilience/policy"
)

// ErrOpen is matched, through errors.Is, by the errors of every call a
// breaker rejects: open, forced open, or half-open with its trial calls all in
// flight (which also match [ErrHalfOpenFull]). Those errors also match
// [policy.ErrRejected], and are of type [*OpenError].
var ErrOpen = errors.New("breaker: open")

// ErrHalfOpenFull is matched, through errors.Is, by the errors of calls
// rejected because their breaker is half-open and already runs as many trial
// calls as it may (HalfOpenMaxRequests). Those errors also match
// [ErrOpen] and [policy.ErrRejected], and are of type [*OpenError]; this
// sentinel tells them apart from the rejections of an open breaker.
var ErrHalfOpenFull = errors.New("breaker: half-open, its trial calls all in flight")

// OpenError is the error of a call that a breaker rejected. Use errors.As to
// read it, and errors.Is with [ErrOpen], [ErrHalfOpenFull] or
// [policy.ErrRejected] to test for it.
//
// An open breaker builds its OpenError once each time it opens and returns
// that same value to every call it rejects: rejecting allocates nothing. Treat
// it as read-only.
type OpenError struct {
	// Name is the breaker's name.
	Name string
	// State is the state that rejected the call: Open, HalfOpen or
	// ForcedOpen.
	State State
	// NextTrial is when the breaker admits its next trial call: set when
	// State is Open, zero otherwise (a forced-open breaker admits none; a
	// half-open one admits the next as soon as a trial ends).
	NextTrial time.Time

	trialAt int64 // NextTrial on the breaker's clock
}

// Error describes the rejection, with the time left until the next trial
// rounded for people to read:
//
//	breaker: "payments" is open; next trial in 30s
func (e *OpenError) Error() string {
	switch e.State {
	case HalfOpen:
		return fmt.Sprintf("breaker: %q is half-open and its trial calls are all in flight", e.Name)
	case ForcedOpen:
		return fmt.Sprintf("breaker: %q is forced open", e.Name)
	}
	return fmt.Sprintf("breaker: %q is open; next trial in %v", e.Name, durfmt.Round(e.RetryAfter()))
}

// Is reports whether target is ErrOpen or policy.ErrRejected (for every
// rejection), or ErrHalfOpenFull (for State HalfOpen).
func (e *OpenError) Is(target error) bool {
	switch target {
	case policy.ErrRejected, ErrOpen:
		return true
	case ErrHalfOpenFull:
		return e.State == HalfOpen
	}
	return false
}

// RetryAfter returns the time left until the breaker admits its next trial
// call, which a retry policy waits at least: 0 once that time has come, and 0
// when State is HalfOpen or ForcedOpen, where it cannot be known.
func (e *OpenError) RetryAfter() time.Duration {
	if e.NextTrial.IsZero() {
		return 0
	}
	return max(0, time.Until(e.NextTrial))
}

// ErrorType returns the error.type of the rejection in telemetry:
// "breaker_open", "breaker_half_open_full" or "breaker_forced_open".
func (e *OpenError) ErrorType() string {
	switch e.State {
	case HalfOpen:
		return "breaker_half_open_full"
	case ForcedOpen:
		return "breaker_forced_open"
	}
	return "breaker_open"
}

// reason returns the Reason of the rejection's telemetry event.
func (e *OpenError) reason() string {
	switch e.State {
	case HalfOpen:
		return "half_open_full"
	case ForcedOpen:
		return "forced_open"
	}
	return "open"
}
