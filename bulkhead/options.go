package bulkhead

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// An Option configures a [Bulkhead].
type Option interface {
	apply(*options)
}

type options struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithMeterProvider sets the provider with which the bulkhead registers its
// gauges, and that [Bulkhead.Execute] records with. By default, and when mp
// is nil, it is the otel package's global provider; through the global
// delegate, an SDK installed after [New] still receives the gauges.
//
// A pipeline that holds the bulkhead records the bulkhead's events
// (bulkhead.rejected, bulkhead.queued) with the pipeline's own providers.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(o *options) {
		if mp != nil {
			o.mp = mp
		}
	})
}

// WithTracerProvider sets the provider of the spans of [Bulkhead.Execute]. By
// default, and when tp is nil, it is the otel package's global provider,
// looked up at each call.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(o *options) {
		if tp != nil {
			o.tp = tp
		}
	})
}

func (o *options) meterProvider() metric.MeterProvider {
	if o.mp != nil {
		return o.mp
	}
	return otel.GetMeterProvider()
}
