package redis

import (
	"go.opentelemetry.io/otel/metric"
)

// An Option configures a [Limiter].
type Option interface {
	apply(*options)
}

type options struct {
	mp metric.MeterProvider
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithMeterProvider sets the provider with which the limiter registers its
// gauge, resilience.ratelimit.backend, and its breaker registers
// resilience.breaker.state. By default, and when mp is nil, it is the otel
// package's global provider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(o *options) {
		if mp != nil {
			o.mp = mp
		}
	})
}
