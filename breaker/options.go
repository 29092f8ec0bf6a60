package breaker

import "go.opentelemetry.io/otel/metric"

// An Option configures a [Breaker] beyond its [Config].
type Option interface {
	apply(*options)
}

type options struct {
	mp metric.MeterProvider
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithMeterProvider sets the provider of the meter on which the breaker's
// state is observed (the resilience.breaker.state gauge). By default, and
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
