package timeout

import (
	"context"
	"time"
)

// An Option configures a [Timeout].
type Option interface {
	apply(*config)
}

type config struct {
	name          string
	onTimeout     []func(operation string, limit time.Duration)
	fallback      func(context.Context, error) error
	valueFallback func(context.Context, error) (any, error)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithName names the policy in telemetry, and the pipeline of
// [Timeout.Execute]. The default is "timeout". An empty name is ignored.
func WithName(name string) Option {
	return optionFunc(func(c *config) {
		if name != "" {
			c.name = name
		}
	})
}

// WithOnTimeout adds a listener called each time the limit runs out, with
// the pipeline's name as the operation and the limit, for metrics or logs of
// their own. Listeners run on the caller's goroutine, before any fallback,
// and must not block. A function that panics is not a timeout: the listeners
// do not hear of it.
func WithOnTimeout(fn func(operation string, limit time.Duration)) Option {
	return optionFunc(func(c *config) {
		if fn != nil {
			c.onTimeout = append(c.onTimeout, fn)
		}
	})
}

// WithFallback sets what a timed-out execution returns instead of the
// timeout error: fn receives the caller's context (still live unless the
// caller's own deadline passed) and the [*Error], and its result is the
// execution's. Returning nil turns the timeout into a success. It replaces a
// fallback set before. A panic is never handed to the fallback: it passes
// through the timeout untouched.
func WithFallback(fn func(ctx context.Context, err error) error) Option {
	return optionFunc(func(c *config) {
		if fn != nil {
			c.fallback, c.valueFallback = fn, nil
		}
	})
}

// WithFallbackValue sets the value a timed-out execution run by policy.Get or
// [Get] returns instead of the timeout error: an empty list, a cached answer.
// When fn returns an error, the execution ends with that error. T must be the
// type of Get's result; a fallback of another type ends the execution with an
// error saying so. A nil value of an interface or pointer T (or any T that
// has a nil) is a value like another: Get returns it. It replaces a fallback
// set before.
func WithFallbackValue[T any](fn func(ctx context.Context, err error) (T, error)) Option {
	return optionFunc(func(c *config) {
		if fn != nil {
			c.fallback = nil
			c.valueFallback = func(ctx context.Context, err error) (any, error) { return fn(ctx, err) }
		}
	})
}
