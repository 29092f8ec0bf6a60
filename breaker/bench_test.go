package breaker_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/internal/benchfloor"
	"github.com/aragora/resilience/policy"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
)

// The floors: what the breaker's paths are measured against, in the same run.

// fnVar keeps the compiler from inlining the protected function away.
var fnVar = succeed

func BenchmarkFloorDirectCall(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			_ = fnVar(ctx)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = fnVar(ctx)
			}
		})
	})
}

func BenchmarkFloorAtomicAdd(b *testing.B) {
	var n atomic.Int64
	b.ReportAllocs()
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			n.Add(1)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n.Add(1)
			}
		})
	})
}

// BenchmarkFloorClock is a reading of the system clock, as a breaker takes
// it (time.Since a monotonic time): what a time-based window pays per call
// unless it reads a CoarseClock.
func BenchmarkFloorClock(b *testing.B) {
	epoch := time.Now()
	b.ReportAllocs()
	b.Run("serial", func(b *testing.B) {
		var sum time.Duration
		for b.Loop() {
			sum += time.Since(epoch)
		}
		runtime.KeepAlive(sum)
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			var sum time.Duration
			for pb.Next() {
				sum += time.Since(epoch)
			}
			runtime.KeepAlive(sum)
		})
	})
}

// alone runs fn through the breaker alone, with the manual API: the
// breaker's own cost, without a pipeline. It reports whether fn ran.
func alone(cb *breaker.Breaker, ctx context.Context, fn func(context.Context) error) bool {
	if !cb.CanExecute() {
		return false
	}
	if err := fn(ctx); err != nil {
		cb.RecordFailure(err)
	} else {
		cb.RecordSuccess()
	}
	return true
}

// benchAlone measures alone of a function returning nil, serial and
// parallel; rejected says whether the breaker is expected to refuse.
func benchAlone(b *testing.B, cb *breaker.Breaker, rejected bool) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if alone(cb, ctx, fnVar) == rejected {
				b.Fatal("unexpected admission")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if alone(cb, ctx, fnVar) == rejected {
					panic("unexpected admission")
				}
			}
		})
	})
}

// BenchmarkClosed is the closed-state success path of consecutive mode, the
// breaker alone: lock-free, no clock. Target: ≤ 2× FloorAtomicAdd, 0 allocs.
func BenchmarkClosed(b *testing.B) {
	benchAlone(b, newBreaker(b, breaker.Config{}), false)
}

// BenchmarkAllow is Allow and Permit.Done around a function returning nil,
// on the closed path of consecutive mode: the same work as failsafe-go's
// TryAcquirePermit and RecordSuccess. Target: 0 allocs, ≤ 2×
// FloorAtomicAdd, and ≤ 1× failsafe-go in the peer benchmarks.
func BenchmarkAllow(b *testing.B) {
	cb := newBreaker(b, breaker.Config{})
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := cb.Allow()
			if err != nil {
				b.Fatal(err)
			}
			p.Done(fnVar(ctx))
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				p, err := cb.Allow()
				if err != nil {
					panic(err)
				}
				p.Done(fnVar(ctx))
			}
		})
	})
}

// BenchmarkOpenReject is the rejection of an open breaker, alone and through
// Execute (a pipeline, telemetry off), which returns the trip's *OpenError.
// Target: 0 allocs.
func BenchmarkOpenReject(b *testing.B) {
	cb := newBreaker(b, breaker.Config{FailureThreshold: 1, Cooldown: time.Hour})
	trip(b, cb, 1)
	b.Run("alone", func(b *testing.B) { benchAlone(b, cb, true) })
	ctx := context.Background()
	b.Run("execute", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := cb.Execute(ctx, fnVar); err == nil {
				b.Fatal("admitted")
			}
		}
	})
}

// BenchmarkCountWindow is the closed path of a count-based sliding window
// full of successes, the healthy steady state. Target: ≤ 4× FloorAtomicAdd.
func BenchmarkCountWindow(b *testing.B) {
	benchAlone(b, newBreaker(b, breaker.Config{Window: &breaker.Window{Size: 100}}), false)
}

// BenchmarkCountWindowMixed is the closed path of a count-based window that
// holds a failure, one call in a hundred failing: every call takes the
// breaker's lock, unlike in a window full of successes.
func BenchmarkCountWindowMixed(b *testing.B) {
	cb := newBreaker(b, breaker.Config{Window: &breaker.Window{Size: 100}})
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if i%100 == 0 {
				alone(cb, ctx, fail)
			} else {
				alone(cb, ctx, fnVar)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				if i%100 == 0 {
					alone(cb, ctx, fail)
				} else {
					alone(cb, ctx, fnVar)
				}
			}
		})
	})
	if cb.State() != breaker.Closed {
		b.Fatal("the mixed stream opened the breaker")
	}
}

// BenchmarkTimeWindow is the closed path of a time-based sliding window with
// no failure in it, the healthy steady state: one reading of the system
// clock (FloorClock) and one compare-and-swap on the bucket of the moment,
// no lock. Target: ≤ 4× FloorAtomicAdd, which the clock reading alone
// exceeds where it is slow (see CoarseClock); BenchmarkTimeWindowCoarse is
// the remedy.
func BenchmarkTimeWindow(b *testing.B) {
	benchAlone(b, newBreaker(b, breaker.Config{Window: &breaker.Window{Duration: time.Minute}}), false)
}

// BenchmarkTimeWindowCoarse is BenchmarkTimeWindow reading a CoarseClock of
// 1ms: a load instead of the clock reading. Target: ≤ 4× FloorAtomicAdd.
func BenchmarkTimeWindowCoarse(b *testing.B) {
	clock, err := breaker.NewCoarseClock(time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	defer clock.Stop()
	cb, err := breaker.New("bench", breaker.Config{Window: &breaker.Window{Duration: time.Minute}},
		breaker.WithCoarseClock(clock), breaker.WithMeterProvider(metricnoop.NewMeterProvider()))
	if err != nil {
		b.Fatal(err)
	}
	benchAlone(b, cb, false)
}

func benchPipeline(b *testing.B, p *policy.Pipeline) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := p.Execute(ctx, fnVar); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := p.Execute(ctx, fnVar); err != nil {
					panic(err)
				}
			}
		})
	})
}

// BenchmarkFloorPipeline is a pipeline with a policy that does nothing,
// telemetry off: what the breaker in a pipeline is measured against.
func BenchmarkFloorPipeline(b *testing.B) {
	benchPipeline(b, benchfloor.Off(benchfloor.Pass{}))
}

// BenchmarkPipeline is the breaker, closed, in a pipeline, telemetry off.
func BenchmarkPipeline(b *testing.B) {
	benchPipeline(b, benchfloor.Off(newBreaker(b, breaker.Config{})))
}
