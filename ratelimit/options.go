package ratelimit

import "time"

// An Option configures a [RateLimiter].
type Option interface {
	apply(*config)
}

type config struct {
	maxWait time.Duration
	err     error
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithMaxWait lets a call wait up to d for its permits, within its context's
// deadline, rather than be refused at once. The calls that wait are given
// turns in the order they came, one interval apart. The default, 0, refuses
// a call that finds no permit free. A negative d makes [New] fail.
func WithMaxWait(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			c.err = invalid("max wait %v: must not be negative", d)
			return
		}
		c.maxWait = d
	})
}
