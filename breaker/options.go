package breaker

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// An Option configures a [Breaker] beyond its [Config].
type Option interface {
	apply(*options)
}

type options struct {
	tp     trace.TracerProvider
	mp     metric.MeterProvider
	coarse *CoarseClock
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithTracerProvider sets the provider of the spans of [Breaker.Execute]. By
// default, and when tp is nil, it is the otel package's global provider,
// looked up at each call. A pipeline holding the breaker uses its own.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(o *options) {
		if tp != nil {
			o.tp = tp
		}
	})
}

// WithMeterProvider sets the provider of the meter on which the breaker's
// state is observed (the resilience.breaker.state gauge), and of the metrics
// of [Breaker.Execute]. By default, and
// when mp is nil, it is the global provider of the otel package as
// otel.GetMeterProvider returns it when the breaker is made; before an SDK is
// installed that is the otel package's delegate, which forwards to the SDK
// installed later.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(o *options) {
		if mp != nil {
			o.mp = mp
		}
	})
}
