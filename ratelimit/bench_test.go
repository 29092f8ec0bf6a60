package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/aragora/resilience/internal/benchfloor"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/ratelimit"
	"golang.org/x/time/rate"
)

// The floors are golang.org/x/time/rate's Limiter.Allow on the same rate and
// burst, measured in the same run: the target is Bucket.Allow ≤ 1× the
// floor, admitting and refusing, serial and parallel, with no allocation.
// The policy benchmarks compare the rate limiter in a pipeline with a
// pipeline holding a policy that reads the clock once, as the limiter does
// (target ≤ 1.3×, no allocation when admitted; a refusal allocates its
// error, which carries RetryAfter).

// admitRate admits every call of a benchmark: a permit per nanosecond and a
// burst of a billion.
const (
	admitPerSecond = 1_000_000_000
	admitBurst     = 1_000_000_000
)

func admitting(b *testing.B) *ratelimit.Bucket { return mustBucket(b, admitPerSecond, admitBurst) }

// refusing returns a bucket with its one permit taken, which comes back in
// an hour.
func refusing(b *testing.B) *ratelimit.Bucket {
	bk, err := ratelimit.NewTokenBucket(ratelimit.Rate{Permits: 1, Per: time.Hour}, 1)
	if err != nil {
		b.Fatal(err)
	}
	bk.Allow()
	return bk
}

func floorAdmitting() *rate.Limiter { return rate.NewLimiter(rate.Limit(admitPerSecond), admitBurst) }

func floorRefusing() *rate.Limiter {
	l := rate.NewLimiter(rate.Every(time.Hour), 1)
	l.Allow()
	return l
}

func benchAllow(b *testing.B, allow func() bool) {
	b.ReportAllocs()
	for b.Loop() {
		allow()
	}
}

func benchAllowParallel(b *testing.B, allow func() bool) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			allow()
		}
	})
}

func BenchmarkFloorXRateAllow(b *testing.B)          { benchAllow(b, floorAdmitting().Allow) }
func BenchmarkFloorXRateAllowParallel(b *testing.B)  { benchAllowParallel(b, floorAdmitting().Allow) }
func BenchmarkFloorXRateRefuse(b *testing.B)         { benchAllow(b, floorRefusing().Allow) }
func BenchmarkFloorXRateRefuseParallel(b *testing.B) { benchAllowParallel(b, floorRefusing().Allow) }

func BenchmarkAllow(b *testing.B)          { benchAllow(b, admitting(b).Allow) }
func BenchmarkAllowParallel(b *testing.B)  { benchAllowParallel(b, admitting(b).Allow) }
func BenchmarkRefuse(b *testing.B)         { benchAllow(b, refusing(b).Allow) }
func BenchmarkRefuseParallel(b *testing.B) { benchAllowParallel(b, refusing(b).Allow) }

// BenchmarkKeyedAllow is one key of a keyed limiter: its map and recency
// list take a mutex.
func BenchmarkKeyedAllow(b *testing.B) {
	k, err := ratelimit.NewKeyed(ratelimit.PerSecond(admitPerSecond), admitBurst, 0)
	if err != nil {
		b.Fatal(err)
	}
	benchAllow(b, func() bool { return k.Allow("tenant") })
}

func BenchmarkKeyedAllowParallel(b *testing.B) {
	k, err := ratelimit.NewKeyed(ratelimit.PerSecond(admitPerSecond), admitBurst, 0)
	if err != nil {
		b.Fatal(err)
	}
	benchAllowParallel(b, func() bool { return k.Allow("tenant") })
}

func nop(context.Context) error { return nil }

func benchPipeline(b *testing.B, p *policy.Pipeline) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Execute(ctx, nop)
	}
}

func benchPipelineParallel(b *testing.B, p *policy.Pipeline) {
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = p.Execute(ctx, nop)
		}
	})
}

func BenchmarkFloorPipelineNopPolicy(b *testing.B) {
	benchPipeline(b, benchfloor.Off(benchfloor.Pass{}))
}
func BenchmarkFloorPipelineNopPolicyParallel(b *testing.B) {
	benchPipelineParallel(b, benchfloor.Off(benchfloor.Pass{}))
}

func BenchmarkFloorPipelineClockPolicy(b *testing.B) {
	benchPipeline(b, benchfloor.Off(benchfloor.NewClock()))
}

func BenchmarkFloorPipelineClockPolicyParallel(b *testing.B) {
	benchPipelineParallel(b, benchfloor.Off(benchfloor.NewClock()))
}

func BenchmarkPipeline(b *testing.B) {
	benchPipeline(b, benchfloor.Off(mustNew(b, "bench", admitting(b))))
}

func BenchmarkPipelineParallel(b *testing.B) {
	benchPipelineParallel(b, benchfloor.Off(mustNew(b, "bench", admitting(b))))
}

func BenchmarkPipelineRefused(b *testing.B) {
	benchPipeline(b, benchfloor.Off(mustNew(b, "bench", refusing(b))))
}
