package otelhooks

import (
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/health"
	"github.com/aragora/resilience/retry"
	"github.com/aragora/resilience/timeout"
)

// Callbacks is what hears the policies' notable moments: a breaker changing
// state, a retry scheduled, retries exhausted, a time limit running out, a
// health check changing status. Each method has the shape of the listener
// that the breaker, retry, timeout or health package takes. [MetricsCallbacks]
// implements it with metrics; the functions of this file attach any
// implementation (metrics, logs, a test's recorder) to the listener hooks of
// the policies in one call each.
type Callbacks interface {
	CircuitBreakerStateChanged(name, oldState, newState string)
	RetryAttempt(operation string, attempt int, delay time.Duration)
	RetryExhausted(operation string, attempts int)
	TimeoutOccurred(operation string, duration time.Duration)
	HealthStatusChanged(name, oldStatus, newStatus string)
}

var _ Callbacks = (*MetricsCallbacks)(nil)

// RetryOptions returns the options that make a retry policy report its
// retries to cb.RetryAttempt and its exhaustion to cb.RetryExhausted:
//
//	r, err := retry.New(cfg, otelhooks.RetryOptions(cb)...)
//
// They add listeners, so the retry's other listeners still hear everything.
// A nil cb gives no options.
func RetryOptions(cb Callbacks) []retry.Option {
	if cb == nil {
		return nil
	}
	return []retry.Option{retry.WithOnRetry(cb.RetryAttempt), retry.WithOnExhausted(cb.RetryExhausted)}
}

// TimeoutOption returns the option that makes a timeout policy report the
// limits that run out to cb.TimeoutOccurred:
//
//	t, err := timeout.New(2*time.Second, otelhooks.TimeoutOption(cb))
//
// A nil cb gives a nil option, which timeout.New ignores.
func TimeoutOption(cb Callbacks) timeout.Option {
	if cb == nil {
		return nil
	}
	return timeout.WithOnTimeout(cb.TimeoutOccurred)
}

// ObserveBreaker reports b's changes of state to cb.CircuitBreakerStateChanged
// until the returned function is called. When cb is a [*MetricsCallbacks],
// its state gauge shows b's current state at once, so that the gauge covers
// every observed breaker, not only those that have changed. A nil cb or b is
// ignored.
func ObserveBreaker(cb Callbacks, b *breaker.Breaker) (unsubscribe func()) {
	if cb == nil || b == nil {
		return func() {}
	}
	current, unsubscribe := b.Watch(breakerListener(cb))
	if m, ok := cb.(*MetricsCallbacks); ok {
		m.breakers.init(b.Name(), current.String())
	}
	return unsubscribe
}

// ObserveBreakers reports the changes of state of all of r's breakers,
// present and future, to cb.CircuitBreakerStateChanged until the returned
// function is called. Use breaker.DefaultRegistry() for the breakers made by
// breaker.Get. A nil cb or r is ignored.
func ObserveBreakers(cb Callbacks, r *breaker.Registry) (unsubscribe func()) {
	if cb == nil || r == nil {
		return func() {}
	}
	return r.OnStateChange(breakerListener(cb))
}

func breakerListener(cb Callbacks) func(breaker.StateChange) {
	return func(c breaker.StateChange) {
		cb.CircuitBreakerStateChanged(c.Name, c.From.String(), c.To.String())
	}
}

// ObserveHealth reports c's changes of status to cb.HealthStatusChanged until
// the returned function is called. A check's changes are reported under the
// name "checker/check", the checker's overall status under the checker's
// name. A nil cb or c is ignored.
func ObserveHealth(cb Callbacks, c *health.Checker) (unsubscribe func()) {
	if cb == nil || c == nil {
		return func() {}
	}
	return c.OnStatusChange(func(s health.StatusChange) {
		name := s.Checker
		if s.Check != "" {
			name += "/" + s.Check
		}
		cb.HealthStatusChanged(name, s.From.String(), s.To.String())
	})
}
