package health

import (
	"context"
	"fmt"
)

// ErrThrottleRejecting is the error of a throttle check that fails: the
// throttle refuses more calls than the check allows. It matches
// [ErrDegraded], so the check never makes a checker Unhealthy.
var ErrThrottleRejecting = fmt.Errorf("%w: throttle is refusing calls", ErrDegraded)

// RegisterThrottle registers a check that fails with [ErrThrottleRejecting],
// making the checker [Degraded] (never Unhealthy), while probability reports
// more than above: an adaptive throttle refuses more than that share of
// calls, because its backend refuses them. A *throttle.Throttle's
// RejectionProbability method is such a probability:
//
//	c.RegisterThrottle("search", thr.RejectionProbability, 0.1)
//
// The probability already spans the throttle's window, so the check counts
// as failing from its first failed run (a threshold of 1); options given
// here override that. RegisterThrottle fails when probability is nil or
// above is not in [0, 1).
func (c *Checker) RegisterThrottle(name string, probability func() float64, above float64, opts ...CheckOption) error {
	if probability == nil {
		return fmt.Errorf("health: RegisterThrottle: check %q has a nil throttle function", name)
	}
	if !(above >= 0 && above < 1) {
		return fmt.Errorf("health: RegisterThrottle: check %q: the share of refusals must be in [0, 1), got %v", name, above)
	}
	check := func(context.Context) error {
		if probability() > above {
			return ErrThrottleRejecting
		}
		return nil
	}
	return c.Register(name, check, append([]CheckOption{WithCritical(false), WithFailureThreshold(1)}, opts...)...)
}
