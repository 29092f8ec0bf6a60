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
//	BenchmarkFloorCancelTimer ← BenchmarkHedgeFirstWins: target ≤ 3×
//
// When the first attempt answers before the delay, as most do, a hedge runs
// it on the caller's goroutine with a context it can cancel and a timer
// armed to start the hedge: the floor is that much written by hand, a
// context.WithCancelCause, a time.AfterFunc and their release, around the
// call.

var op = func(context.Context) error { return nil }

var sink error

func floorCancelTimer(ctx context.Context) error {
	c, cancel := context.WithCancelCause(ctx)
	t := time.AfterFunc(time.Second, func() {})
	err := op(c)
	t.Stop()
	cancel(nil)
	return err
}

func BenchmarkFloorCancelTimer(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sink = floorCancelTimer(ctx)
	}
}

func BenchmarkFloorCancelTimerParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		var err error
		for pb.Next() {
			err = floorCancelTimer(ctx)
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
