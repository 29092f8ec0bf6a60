package timeout_test

import (
	"context"
	"testing"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/timeout"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

func nop(context.Context) error { return nil }

// BenchmarkFloorWithTimeout is the floor the policy is measured against: what
// a hand-written timeout costs.
func BenchmarkFloorWithTimeout(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, cancel := context.WithTimeout(ctx, time.Second)
		_ = nop(c)
		cancel()
	}
}

func BenchmarkFloorWithTimeoutParallel(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c, cancel := context.WithTimeout(ctx, time.Second)
			_ = nop(c)
			cancel()
		}
	})
}

func offPipeline(b *testing.B) *policy.Pipeline {
	t, err := timeout.New(time.Second)
	if err != nil {
		b.Fatal(err)
	}
	return policy.MustNew("bench", t).With(
		policy.WithTracerProvider(tracenoop.NewTracerProvider()),
		policy.WithMeterProvider(metricnoop.NewMeterProvider()))
}

// BenchmarkTimeout is the policy in a pipeline, telemetry off: target ≤ 1.3×
// BenchmarkFloorWithTimeout.
func BenchmarkTimeout(b *testing.B) {
	p := offPipeline(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Execute(ctx, nop)
	}
}

func BenchmarkTimeoutParallel(b *testing.B) {
	p := offPipeline(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = p.Execute(ctx, nop)
		}
	})
}
