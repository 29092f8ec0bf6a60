package slo

import (
	"go.opentelemetry.io/otel/metric"
)

// An Option configures a [Monitor].
type Option interface {
	apply(*config)
}

type config struct {
	mp metric.MeterProvider
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithMeterProvider sets the provider of the meter on which the monitor
// registers its gauges. By default, and when mp is nil, it is the global
// provider of the otel package, whose delegate makes an SDK installed after
// New take effect.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if mp != nil {
			c.mp = mp
		}
	})
}
