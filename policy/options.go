package policy

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// An Option configures a [Pipeline].
type Option interface {
	apply(*config)
}

type config struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithTracerProvider sets the provider of the pipeline's tracer. By default,
// and when tp is nil, the pipeline uses the global provider of the otel
// package, looked up at each execution so that an SDK installed after the
// pipeline was built is still used.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	})
}

// WithMeterProvider sets the provider of the pipeline's meter. By default, and
// when mp is nil, the pipeline uses the global provider of the otel package,
// looked up at each execution so that an SDK installed after the pipeline was
// built is still used.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if mp != nil {
			c.mp = mp
		}
	})
}
