package adapter_test

import (
	"context"
	"testing"

	"github.com/aragora/resilience/adapter"
	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/timeout"
)

// The floors: the function called directly, and a pipeline of the same four
// policies built by hand (monitor, breaker, bulkhead, timeout).
// ResilientCall's own cost is the difference to the latter: finding the
// operation's pipeline.

func noop(context.Context) error { return nil }

func benchAdapter(b *testing.B) *adapter.Resilient {
	r, err := adapter.New(adapter.Config{Name: "bench", BulkheadConfig: bulkhead.Config{MaxConcurrent: 64},
		BreakerRegistry: new(breaker.Registry), BulkheadRegistry: new(bulkhead.Registry)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Close() })
	return r
}

// floorPipeline is r's pipeline built by hand.
func floorPipeline(b *testing.B, r *adapter.Resilient) *policy.Pipeline {
	to, err := timeout.New(adapter.DefaultTimeout)
	if err != nil {
		b.Fatal(err)
	}
	return policy.MustNew("bench.get", r.SLO(), r.Breaker(), r.Bulkhead(), to)
}

func BenchmarkFloorDirectCall(b *testing.B) {
	ctx := context.Background()
	fn := noop
	b.ReportAllocs()
	for b.Loop() {
		_ = fn(ctx)
	}
}

func BenchmarkFloorPipeline(b *testing.B) {
	r := benchAdapter(b)
	p := floorPipeline(b, r)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Execute(ctx, noop)
	}
}

func BenchmarkResilientCall(b *testing.B) {
	r := benchAdapter(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = r.ResilientCall(ctx, "get", noop)
	}
}

func BenchmarkCall(b *testing.B) {
	r := benchAdapter(b)
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	b.ReportAllocs()
	for b.Loop() {
		_, _ = adapter.Call(ctx, r, "get", fn)
	}
}

func BenchmarkFloorPipelineParallel(b *testing.B) {
	r := benchAdapter(b)
	p := floorPipeline(b, r)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = p.Execute(ctx, noop)
		}
	})
}

func BenchmarkResilientCallParallel(b *testing.B) {
	r := benchAdapter(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = r.ResilientCall(ctx, "get", noop)
		}
	})
}
