package otelhooks

import (
	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/health"
	"github.com/aragora/resilience/retry"
	"github.com/aragora/resilience/timeout"
)

// The methods of this file attach the callbacks to the listener hooks of the
// policies in one call each. The callbacks' methods are also plain listener
// functions, for attaching one at a time.

// RetryOptions returns the options that make a retry policy report its
// retries to RetryAttempt and its exhaustion to RetryExhausted:
//
//	r, err := retry.New(cfg, cb.RetryOptions()...)
//
// They add listeners, so the retry's other listeners still hear everything.
func (m *MetricsCallbacks) RetryOptions() []retry.Option {
	return []retry.Option{retry.WithOnRetry(m.RetryAttempt), retry.WithOnExhausted(m.RetryExhausted)}
}

// TimeoutOption returns the option that makes a timeout policy report the
// limits that run out to TimeoutOccurred:
//
//	t, err := timeout.New(2*time.Second, cb.TimeoutOption())
func (m *MetricsCallbacks) TimeoutOption() timeout.Option {
	return timeout.WithOnTimeout(m.TimeoutOccurred)
}

// ObserveBreaker reports b's changes of state to CircuitBreakerStateChanged
// until the returned function is called, and sets the state gauge to b's
// current state at once, so that the gauge shows every observed breaker, not
// only those that have changed. A nil b is ignored.
func (m *MetricsCallbacks) ObserveBreaker(b *breaker.Breaker) (unsubscribe func()) {
	if b == nil {
		return func() {}
	}
	current, unsubscribe := b.Watch(m.breakerChanged)
	m.breakers.init(b.Name(), current.String())
	return unsubscribe
}

// ObserveBreakers reports the changes of state of all of r's breakers,
// present and future, to CircuitBreakerStateChanged until the returned
// function is called. Use breaker.DefaultRegistry() for the breakers made by
// breaker.Get. The state gauge shows a breaker from its first change on. A nil
// r is ignored.
func (m *MetricsCallbacks) ObserveBreakers(r *breaker.Registry) (unsubscribe func()) {
	if r == nil {
		return func() {}
	}
	return r.OnStateChange(m.breakerChanged)
}

func (m *MetricsCallbacks) breakerChanged(c breaker.StateChange) {
	m.CircuitBreakerStateChanged(c.Name, c.From.String(), c.To.String())
}

// ObserveHealth reports c's changes of status to HealthStatusChanged until the
// returned function is called. A check's changes are reported under the name
// "checker/check", the checker's overall status under the checker's name.
// A nil c is ignored.
func (m *MetricsCallbacks) ObserveHealth(c *health.Checker) (unsubscribe func()) {
	if c == nil {
		return func() {}
	}
	return c.OnStatusChange(func(s health.StatusChange) {
		name := s.Checker
		if s.Check != "" {
			name += "/" + s.Check
		}
		m.HealthStatusChanged(name, s.From.String(), s.To.String())
	})
}
