package otelhooks_test

import (
	"context"
	"testing"
	"time"

	"github.com/aragora/resilience/otelhooks"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// The floor is what any recording costs: one SDK counter Add with an
// attribute set built beforehand. The callbacks' ratios to it are their own
// cost: looking the operation's set up, and for state changes, the gauge.
func BenchmarkCallbacks(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	cb, err := otelhooks.NewMetricsCallbacks("bench", otelhooks.WithMeterProvider(mp))
	if err != nil {
		b.Fatal(err)
	}
	counter, _ := mp.Meter("floor").Int64Counter("floor")
	set := metric.WithAttributeSet(attribute.NewSet(attribute.String("operation", "fetch")))
	ctx := context.Background()

	cases := []struct {
		name string
		fn   func()
	}{
		{"floor=CounterAdd", func() { counter.Add(ctx, 1, set) }},
		{"TimeoutOccurred", func() { cb.TimeoutOccurred("fetch", time.Second) }},
		{"RetryAttempt", func() { cb.RetryAttempt("fetch", 2, 100*time.Millisecond) }},
		{"CircuitBreakerStateChanged", func() { cb.CircuitBreakerStateChanged("db", "closed", "open") }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.fn()
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.fn()
				}
			})
		})
	}
}
