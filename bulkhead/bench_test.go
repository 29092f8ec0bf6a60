package bulkhead_test

import (
	"context"
	"testing"

	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/internal/benchfloor"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"golang.org/x/sync/semaphore"
)

// The floors are golang.org/x/sync/semaphore, measured in the same run: the
// target is TryAcquire+Release ≤ 1.5× BenchmarkFloorSemaphoreTry, with no
// allocation.

const benchLimit = 1 << 20 // room for every goroutine of RunParallel

func BenchmarkFloorSemaphoreTry(b *testing.B) {
	sem := semaphore.NewWeighted(benchLimit)
	b.ReportAllocs()
	for b.Loop() {
		if sem.TryAcquire(1) {
			sem.Release(1)
		}
	}
}

func BenchmarkFloorSemaphoreTryParallel(b *testing.B) {
	sem := semaphore.NewWeighted(benchLimit)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if sem.TryAcquire(1) {
				sem.Release(1)
			}
		}
	})
}

func BenchmarkFloorSemaphoreAcquire(b *testing.B) {
	sem := semaphore.NewWeighted(benchLimit)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if sem.Acquire(ctx, 1) == nil {
			sem.Release(1)
		}
	}
}

func benchBulkhead(b *testing.B, cfg bulkhead.Config) *bulkhead.Bulkhead {
	cfg.MaxConcurrent = benchLimit
	return mustNew(b, "bench", cfg, bulkhead.WithMeterProvider(metricnoop.NewMeterProvider()))
}

func BenchmarkTryAcquireRelease(b *testing.B) {
	bh := benchBulkhead(b, bulkhead.Config{})
	b.ReportAllocs()
	for b.Loop() {
		if bh.TryAcquire() {
			bh.Release()
		}
	}
}

func BenchmarkTryAcquireReleaseParallel(b *testing.B) {
	bh := benchBulkhead(b, bulkhead.Config{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if bh.TryAcquire() {
				bh.Release()
			}
		}
	})
}

// BenchmarkAcquire is the manual form with its idempotent release func,
// against BenchmarkFloorSemaphoreAcquire.
func BenchmarkAcquire(b *testing.B) {
	bh := benchBulkhead(b, bulkhead.Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if release, err := bh.Acquire(ctx); err == nil {
			release()
		}
	}
}

func nop(context.Context) error { return nil }

// BenchmarkFloorDirect is a direct call of the function the pipelines run.
func BenchmarkFloorDirect(b *testing.B) {
	ctx := context.Background()
	fn := nop
	b.ReportAllocs()
	for b.Loop() {
		_ = fn(ctx)
	}
}

func BenchmarkFloorPipelineNopPolicy(b *testing.B) {
	p := benchfloor.Off(benchfloor.Pass{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Execute(ctx, nop)
	}
}

// BenchmarkPipeline is the bulkhead as a policy, telemetry off.
func BenchmarkPipeline(b *testing.B) {
	p := benchfloor.Off(benchBulkhead(b, bulkhead.Config{}))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Execute(ctx, nop)
	}
}

func BenchmarkPipelineParallel(b *testing.B) {
	p := benchfloor.Off(benchBulkhead(b, bulkhead.Config{}))
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = p.Execute(ctx, nop)
		}
	})
}

// BenchmarkPipelineAdaptive adds the adaptive limit's two clock reads and its
// estimator, under a mutex.
func BenchmarkPipelineAdaptive(b *testing.B) {
	p := benchfloor.Off(benchBulkhead(b, bulkhead.Config{Adaptive: &bulkhead.Adaptive{}}))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Execute(ctx, nop)
	}
}

func BenchmarkPipelineAdaptiveParallel(b *testing.B) {
	p := benchfloor.Off(benchBulkhead(b, bulkhead.Config{Adaptive: &bulkhead.Adaptive{}}))
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = p.Execute(ctx, nop)
		}
	})
}

// BenchmarkRejected is the cost of refusing a call: no allocation, so that
// shedding load stays cheap under overload.
func BenchmarkRejected(b *testing.B) {
	bh := mustNew(b, "bench", bulkhead.Config{MaxConcurrent: 1}, bulkhead.WithMeterProvider(metricnoop.NewMeterProvider()))
	bh.TryAcquire()
	p := benchfloor.Off(bh)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Execute(ctx, nop)
	}
}
