package redis

import (
	"context"
	"runtime"
	"weak"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/aragora/resilience/policy"
)

// MetricBackend is the gauge of the backend deciding: for each limiter
// (attribute limiter, its name) and each backend (attribute backend:
// redis, local, fail_open, fail_closed), 1 for the backend deciding now and
// 0 for the others. The Prometheus exporter names it
// resilience_ratelimit_backend.
const MetricBackend = "resilience.ratelimit.backend"

var backends = [...]string{BackendRedis, BackendLocal, BackendFailOpen, BackendFailClosed}

func (o *options) meterProvider() metric.MeterProvider {
	if o.mp != nil {
		return o.mp
	}
	return otel.GetMeterProvider()
}

// registerGauge registers l's gauge with mp. The callback holds l weakly,
// and a cleanup unregisters it once l is garbage collected. Failures go to
// otel.Handle: telemetry never fails New.
func registerGauge(l *Limiter, mp metric.MeterProvider) {
	meter := mp.Meter(policy.ScopeName, metric.WithInstrumentationVersion(policy.Version))
	g, err := meter.Int64ObservableGauge(MetricBackend,
		metric.WithUnit("{backend}"),
		metric.WithDescription("The backend deciding a shared rate limit: 1 for the current one."))
	if err != nil {
		otel.Handle(err)
		return
	}
	var sets [len(backends)]metric.ObserveOption
	for i, b := range backends {
		sets[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("limiter", l.name), attribute.String("backend", b)))
	}
	wl := weak.Make(l)
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		l := wl.Value()
		if l == nil {
			return nil
		}
		cur := l.Backend()
		for i, b := range backends {
			var v int64
			if b == cur {
				v = 1
			}
			o.ObserveInt64(g, v, sets[i])
		}
		return nil
	}, g)
	if err != nil {
		otel.Handle(err)
		return
	}
	runtime.AddCleanup(l, func(reg metric.Registration) {
		if err := reg.Unregister(); err != nil {
			otel.Handle(err)
		}
	}, reg)
}
