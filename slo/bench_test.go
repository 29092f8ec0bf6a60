package slo_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/slo"
)

// The floors: a mutex-guarded increment (the least a shared counter costs),
// and a pipeline with no policy (the least an execution costs).

type lockedCounter struct {
	mu sync.Mutex
	n  [3]uint64
}

func (c *lockedCounter) inc() {
	c.mu.Lock()
	c.n[0]++
	c.mu.Unlock()
}

func BenchmarkFloorMutexIncrement(b *testing.B) {
	var c lockedCounter
	b.ReportAllocs()
	for b.Loop() {
		c.inc()
	}
}

func BenchmarkFloorMutexIncrementParallel(b *testing.B) {
	var c lockedCounter
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.inc()
		}
	})
}

// The floor of Record: a clock read and a mutex-guarded increment.
func BenchmarkFloorClockAndMutexIncrement(b *testing.B) {
	var c lockedCounter
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		c.mu.Lock()
		c.n[0] += uint64(time.Since(start))
		c.mu.Unlock()
	}
}

func benchMonitor(b *testing.B) *slo.Monitor {
	m, err := slo.New("bench", slo.Objective{Latency: 300 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	return m
}

func BenchmarkRecord(b *testing.B) {
	m := benchMonitor(b)
	b.ReportAllocs()
	for b.Loop() {
		m.Record(policy.Success, time.Millisecond)
	}
}

func BenchmarkRecordParallel(b *testing.B) {
	m := benchMonitor(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Record(policy.Success, time.Millisecond)
		}
	})
}

// Failures make every call evaluate the alert rules until the page.
func BenchmarkRecordFailure(b *testing.B) {
	m := benchMonitor(b)
	b.ReportAllocs()
	for b.Loop() {
		m.Record(policy.Failure, time.Millisecond)
	}
}

func ok(context.Context) error { return nil }

func BenchmarkFloorPipelineEmpty(b *testing.B) {
	p := policy.MustNew("bench")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Execute(ctx, ok)
	}
}

func BenchmarkPipelineWithMonitor(b *testing.B) {
	p := policy.MustNew("bench", benchMonitor(b))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Execute(ctx, ok)
	}
}

func BenchmarkPipelineWithMonitorParallel(b *testing.B) {
	p := policy.MustNew("bench", benchMonitor(b))
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = p.Execute(ctx, ok)
		}
	})
}

func BenchmarkSnapshot(b *testing.B) {
	m := benchMonitor(b)
	m.Record(policy.Success, time.Millisecond)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Snapshot()
	}
}
