package hedge_test

import (
	"context"
	"testing"
	"time"

	"github.com/aragora/resilience/hedge"
	"github.com/aragora/resilience/policy"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// The benchmarks come in pairs: a floor and the policy measured against it,
// in the same run. Telemetry is off (no-op providers).
//
//	BenchmarkFloorGoroutine ← BenchmarkHedgeFirstWins: target ≤ 3×
//
// A hedge runs each attempt on a goroutine of its own, with a context of its
// own, and waits for it with a timer armed: the floor is the least of that,
// a goroutine and a channel per call, written by hand.

var op = func(context.Context) error { return nil }

var sink error

func BenchmarkFloorGoroutine(b *testing.B) {
	ctx := context.Background()
	done := make(chan error, 1)
	b.ReportAllocs()
	for b.Loop() {
		go func() { done <- op(ctx) }()
		sink = <-done
	}
}

func BenchmarkFloorGoroutineParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		done := make(chan error, 1)
		var err error
		for pb.Next() {
			go func() { done <- op(ctx) }()
			err = <-done
		}
		_ = err
	})
}

func offPipeline(b *testing.B) *policy.Pipeline {
	b.Helper()
	h, err := hedge.New(hedge.WithDelay(time.Second))
	if err != nil {
		b.Fatal(err)
	}
	return policy.MustNew("bench", h).With(policy.WithTracerProvider(tracenoop.NewTracerProvider()),
		policy.WithMeterProvider(metricnoop.NewMeterProvider()))
}

// BenchmarkHedgeFirstWins is the common case: the first attempt answers
// before the delay, and no hedge starts.
func BenchmarkHedgeFirstWins(b *testing.B) {
	p := offPipeline(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sink = p.Execute(ctx, op)
	}
}

func BenchmarkHedgeFirstWinsParallel(b *testing.B) {
	p := offPipeline(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		var err error
		for pb.Next() {
			err = p.Execute(ctx, op)
		}
		_ = err
	})
}
