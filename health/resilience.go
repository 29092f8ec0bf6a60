package health

import (
	"context"
	"errors"
	"fmt"
)

// The errors of the checks that read resilience state. Each names the state
// that fails the check; the bulkhead's and the SLO's match [ErrDegraded], so
// those checks never make a checker Unhealthy.
var (
	ErrBreakerOpen       = errors.New("health: circuit breaker is open")
	ErrBulkheadSaturated = fmt.Errorf("%w: bulkhead is saturated", ErrDegraded)
	ErrSLOPageAlert      = fmt.Errorf("%w: SLO page-level burn-rate alert is firing", ErrDegraded)
)

// RegisterBreaker registers a check that follows a circuit breaker: it fails
// with [ErrBreakerOpen] while open reports true, that is while the breaker
// refuses calls, and passes once it reports false again. [BreakerOpen] makes
// open from a *breaker.Breaker; any func() bool will do.
//
// A breaker already waits for several failures before it opens, so the check
// counts as failing from its first failed run (a threshold of 1). It is not
// critical by default, making the checker [Degraded]: when a dependency that
// every replica shares is down, failing every replica's readiness would turn
// a partial outage into a total one. Register it with WithCritical(true) to
// make an open breaker [Unhealthy] instead. Options given here override those
// defaults.
func (c *Checker) RegisterBreaker(name string, open func() bool, opts ...CheckOption) error {
	if open == nil {
		return invalid("RegisterBreaker: check %q has a nil breaker function", name)
	}
	return c.Register(name, stateCheck(open, ErrBreakerOpen),
		append([]CheckOption{WithCritical(false), WithFailureThreshold(1)}, opts...)...)
}

// RegisterBulkhead registers a check that fails with [ErrBulkheadSaturated],
// making the checker [Degraded] (never Unhealthy), while saturated reports
// true: the bulkhead has no free permit, so new calls queue or are rejected.
// [BulkheadSaturated] makes saturated from a *bulkhead.Bulkhead.
//
// Saturation is read at the moment of the run, so a burst can catch it; the
// check keeps the checker's failure threshold, so that only saturation seen
// on that many consecutive runs counts. Options given here override that.
func (c *Checker) RegisterBulkhead(name string, saturated func() bool, opts ...CheckOption) error {
	if saturated == nil {
		return invalid("RegisterBulkhead: check %q has a nil bulkhead function", name)
	}
	return c.Register(name, stateCheck(saturated, ErrBulkheadSaturated),
		append([]CheckOption{WithCritical(false)}, opts...)...)
}

// RegisterSLO registers a check that fails with [ErrSLOPageAlert], making the
// checker [Degraded] (never Unhealthy), while paging reports true: a
// page-level burn-rate alert of an SLO monitor is firing, so the error budget
// is burning fast enough to wake someone. [SLOPaging] makes paging from an
// *slo.Monitor. The alert already spans its windows, so the check counts as
// failing from its first failed run (a threshold of 1); options given here
// override that.
func (c *Checker) RegisterSLO(name string, paging func() bool, opts ...CheckOption) error {
	if paging == nil {
		return invalid("RegisterSLO: check %q has a nil SLO function", name)
	}
	return c.Register(name, stateCheck(paging, ErrSLOPageAlert),
		append([]CheckOption{WithCritical(false), WithFailureThreshold(1)}, opts...)...)
}

// stateCheck is a check that fails with err while failing reports true.
func stateCheck(failing func() bool, err error) func(context.Context) error {
	return func(context.Context) error {
		if failing() {
			return err
		}
		return nil
	}
}
