package health

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrInvalidConfig is matched, through errors.Is, by the errors of
// [NewChecker] and of Register and its siblings for a name, function,
// Config field or option they cannot use. The message names it.
var ErrInvalidConfig = errors.New("health: invalid config")

// invalid returns an error matching ErrInvalidConfig:
// "health: invalid config: <what>".
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// ErrTimeout is matched, through errors.Is, by the error of a run that did not
// return within its check's timeout; so is [context.DeadlineExceeded]. It is
// also the cause (context.Cause) of the context such a run was given.
var ErrTimeout = errors.New("health: check timed out")

// ErrStillRunning is the error of a run that could not start because the
// check's previous run timed out and has still not returned: the check is
// stuck, and starting it again would only pile up goroutines.
var ErrStillRunning = errors.New("health: previous run of the check has not returned")

// ErrDegraded, matched through errors.Is by the error a check returns, makes
// the failure count as [Degraded] even when the check is critical: the way for
// a check to say "working, but not fully".
//
//	return fmt.Errorf("%w: replica lag %v", health.ErrDegraded, lag)
var ErrDegraded = errors.New("health: degraded")

// ErrDuplicateCheck is returned by [Checker.Register] for a name already
// registered.
var ErrDuplicateCheck = errors.New("health: duplicate check name")

// ErrStarted is returned by [Checker.Start] when the checker already runs in
// the background.
var ErrStarted = errors.New("health: checker already started")

// ErrStopped is returned by [Checker.Start] and [Checker.Register] once the
// checker has been stopped.
var ErrStopped = errors.New("health: checker stopped")

// timeoutError is the error of a run that outlived its timeout.
type timeoutError struct {
	limit time.Duration
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("health: check timed out after %v", e.limit)
}

// Is reports whether target is ErrTimeout or context.DeadlineExceeded.
func (e *timeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// ErrorType returns "timeout", the error.type of a timeout in telemetry.
func (e *timeoutError) ErrorType() string { return "timeout" }

// ErrGoexit is the error of a run whose check ended its goroutine with
// runtime.Goexit (as t.FailNow does) instead of returning: the run fails,
// and the check runs again at the next CheckAll or background run.
var ErrGoexit = errors.New("health: check called runtime.Goexit")
