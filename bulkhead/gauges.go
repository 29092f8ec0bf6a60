package bulkhead

import (
	"context"
	"runtime"
	"weak"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/aragora/resilience/policy"
)

// The gauges of a bulkhead, with the attribute bulkhead set to its name. The
// Prometheus exporter drops the annotation unit {call}, so they become
// resilience_bulkhead_inflight, resilience_bulkhead_queued and
// resilience_bulkhead_limit.
const (
	MetricInflight = "resilience.bulkhead.inflight" // gauge, {call}: permits in use
	MetricQueued   = "resilience.bulkhead.queued"   // gauge, {call}: calls waiting for a permit
	MetricLimit    = "resilience.bulkhead.limit"    // gauge, {call}: the current limit
)

// AttrBulkhead is the attribute that names the bulkhead on its gauges.
const AttrBulkhead = attribute.Key("bulkhead")

// registerGauges registers b's gauges with mp. The callback holds b weakly,
// and a cleanup unregisters it once b is garbage collected, so that a
// long-lived meter provider does not keep every bulkhead ever built alive.
// Failures go to otel.Handle: telemetry never fails New.
func registerGauges(b *Bulkhead, mp metric.MeterProvider) {
	meter := mp.Meter(policy.ScopeName, metric.WithInstrumentationVersion(policy.Version))
	inflight, err := meter.Int64ObservableGauge(MetricInflight,
		metric.WithUnit("{call}"),
		metric.WithDescription("Calls holding a permit of a bulkhead."))
	handle(err)
	queued, err := meter.Int64ObservableGauge(MetricQueued,
		metric.WithUnit("{call}"),
		metric.WithDescription("Calls waiting for a permit of a bulkhead."))
	handle(err)
	limit, err := meter.Int64ObservableGauge(MetricLimit,
		metric.WithUnit("{call}"),
		metric.WithDescription("The concurrency limit of a bulkhead: fixed, or the current adaptive one."))
	handle(err)

	set := metric.WithAttributeSet(attribute.NewSet(AttrBulkhead.String(b.name)))
	wb := weak.Make(b)
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		b := wb.Value()
		if b == nil {
			return nil
		}
		s := b.state.Load()
		o.ObserveInt64(inflight, inflightOf(s), set)
		o.ObserveInt64(queued, queuedOf(s), set)
		o.ObserveInt64(limit, b.limit.Load(), set)
		return nil
	}, inflight, queued, limit)
	if err != nil {
		handle(err)
		return
	}
	runtime.AddCleanup(b, func(reg metric.Registration) { handle(reg.Unregister()) }, reg)
}

func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}
