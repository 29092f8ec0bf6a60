package resiliencegrpc

import (
	"fmt"
	"time"

	"github.com/aragora/resilience/slo"
)

// An Option configures an interceptor. Each option says which side it
// applies to, client or server; the other ignores it. The names are those of
// resiliencehttp's options.
type Option interface {
	apply(*config)
}

type config struct {
	classify   Classifier
	monitor    *slo.Monitor
	retryAfter time.Duration
	err        error
}

// DefaultRetryAfter is the pushback a server interceptor sends with a
// rejection whose error does not say when to come back, such as a full
// bulkhead's.
const DefaultRetryAfter = time.Second

func newConfig(opts []Option) (config, error) {
	c := config{classify: DefaultClassifier, retryAfter: DefaultRetryAfter}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c, c.err
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithClassifier replaces [DefaultClassifier], which decides which statuses
// are retried and which count as failures. Client only. A nil c is ignored.
func WithClassifier(c Classifier) Option {
	return optionFunc(func(cfg *config) {
		if c != nil {
			cfg.classify = c
		}
	})
}

// WithMonitor records every RPC in m, an SLO monitor: UNAVAILABLE, INTERNAL,
// UNKNOWN, DEADLINE_EXCEEDED, rejections and panics are bad calls, other
// statuses good ones (INVALID_ARGUMENT and its kind are the client's fault),
// with the latency from the interceptor's entry. An RPC whose client
// cancelled it is not recorded. Server only. A nil m is ignored.
func WithMonitor(m *slo.Monitor) Option {
	return optionFunc(func(cfg *config) {
		if m != nil {
			cfg.monitor = m
		}
	})
}

// WithRetryAfter sets the pushback a server interceptor sends with a
// rejection whose error has no RetryAfter() time.Duration method (or returns
// a wait that is not positive): [DefaultRetryAfter] unless set. Server only.
// A d that is not positive is an error of the constructor.
func WithRetryAfter(d time.Duration) Option {
	return optionFunc(func(cfg *config) {
		if d <= 0 {
			if cfg.err == nil {
				cfg.err = fmt.Errorf("%w: WithRetryAfter(%v): want a positive duration", ErrInvalidOption, d)
			}
			return
		}
		cfg.retryAfter = d
	})
}
