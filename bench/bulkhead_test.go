package bench_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/ratelimit"
	"github.com/failsafe-go/failsafe-go"
	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
	fsratelimiter "github.com/failsafe-go/failsafe-go/ratelimiter"
	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"
)

// Every bulkhead here admits 1024 calls at once, more than the benchmarks
// ever run: a call always finds a permit free, takes it, and gives it back.
const permits = 1024

func newBulkhead(b *testing.B) *bulkhead.Bulkhead {
	return must(bulkhead.New("bench", bulkhead.Config{MaxConcurrent: permits}))
}

// atomicPermit is the floor of a permit: one atomic add to take it, one to
// give it back.
func atomicPermit(*testing.B) func(context.Context) error {
	var n atomic.Int64
	return func(ctx context.Context) error {
		n.Add(1)
		err := op(ctx)
		n.Add(-1)
		return err
	}
}

// BenchmarkBulkhead: the call runs holding a permit of a bulkhead. Ours runs
// in a pipeline with telemetry off.
func BenchmarkBulkhead(b *testing.B) {
	compare(b,
		simple("floor-atomic-add", atomicPermit),
		simple("resilience", func(b *testing.B) func(context.Context) error {
			p := off(b, newBulkhead(b))
			return func(ctx context.Context) error { return p.Execute(ctx, op) }
		}),
		simple("failsafe-go", func(*testing.B) func(context.Context) error {
			ex := failsafe.With[any](fsbulkhead.New[any](permits))
			return func(ctx context.Context) error {
				return ex.WithContext(ctx).RunWithExecution(func(e failsafe.Execution[any]) error { return op(e.Context()) })
			}
		}),
		simple("x-sync-semaphore", func(*testing.B) func(context.Context) error {
			sem := semaphore.NewWeighted(permits)
			return func(ctx context.Context) error {
				if err := sem.Acquire(ctx, 1); err != nil {
					return err
				}
				defer sem.Release(1)
				return op(ctx)
			}
		}),
	)
}

// BenchmarkBulkheadPermit: a bulkhead's manual permit API, which never
// waits, around a call the caller runs itself.
func BenchmarkBulkheadPermit(b *testing.B) {
	compare(b,
		simple("floor-atomic-add", atomicPermit),
		simple("resilience", func(b *testing.B) func(context.Context) error {
			bh := newBulkhead(b)
			return func(ctx context.Context) error {
				if !bh.TryAcquire() {
					return bulkhead.ErrFull
				}
				defer bh.Release()
				return op(ctx)
			}
		}),
		simple("failsafe-go", func(*testing.B) func(context.Context) error {
			bh := fsbulkhead.New[any](permits)
			return func(ctx context.Context) error {
				if !bh.TryAcquirePermit() {
					return fsbulkhead.ErrFull
				}
				defer bh.ReleasePermit()
				return op(ctx)
			}
		}),
		simple("x-sync-semaphore", func(*testing.B) func(context.Context) error {
			sem := semaphore.NewWeighted(permits)
			return func(ctx context.Context) error {
				if !sem.TryAcquire(1) {
					return bulkhead.ErrFull
				}
				defer sem.Release(1)
				return op(ctx)
			}
		}),
	)
}

// BenchmarkBulkheadPipelineCost: the fixed cost of a pipeline around one
// bulkhead, telemetry off, against the same bulkhead's manual path around the
// same call: TryAcquire, the call, Release. Target: ≤ 15 ns more.
func BenchmarkBulkheadPipelineCost(b *testing.B) {
	compare(b,
		simple("floor-manual", func(b *testing.B) func(context.Context) error {
			bh := newBulkhead(b)
			return func(ctx context.Context) error {
				if !bh.TryAcquire() {
					return bulkhead.ErrFull
				}
				defer bh.Release()
				return op(ctx)
			}
		}),
		simple("resilience", func(b *testing.B) func(context.Context) error {
			p := off(b, newBulkhead(b))
			return func(ctx context.Context) error { return p.Execute(ctx, op) }
		}),
	)
}

// BenchmarkRateLimit: a token bucket that always has a token admits the call
// and runs it, each limiter's own admission call: ratelimit's Allow,
// x/time/rate's Allow, failsafe-go's TryAcquirePermit.
func BenchmarkRateLimit(b *testing.B) {
	compare(b,
		simple("floor-atomic-add", atomicPermit),
		simple("resilience", func(b *testing.B) func(context.Context) error {
			lim, err := ratelimit.NewTokenBucket(ratelimit.Rate{Permits: 1, Per: time.Nanosecond}, 1<<30) // its fastest rate
			if err != nil {
				b.Fatal(err)
			}
			return func(ctx context.Context) error {
				if !lim.Allow() {
					return ratelimit.ErrRateLimited
				}
				return op(ctx)
			}
		}),
		simple("x-time-rate", func(*testing.B) func(context.Context) error {
			lim := rate.NewLimiter(rate.Limit(1e12), 1<<30) // finite: Allow does the token arithmetic
			return func(ctx context.Context) error {
				if !lim.Allow() {
					return bulkhead.ErrFull
				}
				return op(ctx)
			}
		}),
		simple("failsafe-go", func(*testing.B) func(context.Context) error {
			lim := fsratelimiter.NewBursty[any](1<<30, time.Millisecond)
			return func(ctx context.Context) error {
				if !lim.TryAcquirePermit() {
					return bulkhead.ErrFull
				}
				return op(ctx)
			}
		}),
	)
}
