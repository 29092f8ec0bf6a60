package redis_test

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/aragora/resilience/ratelimit"
	sharedlimit "github.com/aragora/resilience/ratelimit/redis"
)

// The floor is github.com/go-redis/redis_rate/v10's Allow, the usual Go
// choice, on the same redis-server (started by the benchmark, on loopback)
// and the same limit, measured in the same run: the target is a decision ≤
// 1.2× its time, p50 and p99 alike. Our decision carries what redis_rate's
// lacks (a breaker, a timeout that holds whatever the client does, a local
// fallback); the round trip dominates both.
//
// The limit admits every call: 1,000,000 a second with an equal burst.

const benchRate = 1_000_000

// benchLatency runs decide b.N times, serially, and reports the median and
// the 99th percentile of its latency.
func benchLatency(b *testing.B, decide func(ctx context.Context) error) {
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if err := decide(ctx); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func benchParallel(b *testing.B, decide func(ctx context.Context) error) {
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := decide(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// The benchmarks share one server, started by the first and stopped by
// TestMain, since a benchmark function runs several times.
var bench struct {
	once sync.Once
	s    *server
}

func benchServer(b *testing.B) *server {
	bench.once.Do(func() {
		// startServer's cleanup would stop it with the first benchmark.
		s := &server{t: b, dir: os.TempDir()}
		s.addr = freeAddr(b)
		s.start(redisServer(b))
		bench.s = s
	})
	if bench.s == nil {
		b.Fatal("no redis-server")
	}
	return bench.s
}

func stopBenchServer() {
	if bench.s != nil {
		bench.s.kill()
	}
}

func redisRate(b *testing.B) func(context.Context) error {
	s := benchServer(b)
	l := redis_rate.NewLimiter(s.client(b))
	limit := redis_rate.PerSecond(benchRate)
	return func(ctx context.Context) error {
		_, err := l.Allow(ctx, "bench", limit)
		return err
	}
}

func ours(b *testing.B, contextTimeout bool) func(context.Context) error {
	s := benchServer(b)
	l := mustNew(b, s.clientWith(b, contextTimeout), sharedlimit.Config{Rate: ratelimit.PerSecond(benchRate), Burst: benchRate, Timeout: time.Second})
	return func(ctx context.Context) error {
		r, err := l.Reserve(ctx, "bench", 1, 0)
		if err == nil && r.Backend != sharedlimit.BackendRedis {
			b.Fatalf("decided by %s", r.Backend)
		}
		return err
	}
}

func BenchmarkFloorRedisRate(b *testing.B)         { benchLatency(b, redisRate(b)) }
func BenchmarkFloorRedisRateParallel(b *testing.B) { benchParallel(b, redisRate(b)) }

// BenchmarkDecision is a client with ContextTimeoutEnabled, called directly.
func BenchmarkDecision(b *testing.B)         { benchLatency(b, ours(b, true)) }
func BenchmarkDecisionParallel(b *testing.B) { benchParallel(b, ours(b, true)) }

// BenchmarkDecisionOwnTimeout is a client with go-redis's defaults: each
// round trip runs on a goroutine the limiter stops waiting for at the
// timeout.
func BenchmarkDecisionOwnTimeout(b *testing.B)         { benchLatency(b, ours(b, false)) }
func BenchmarkDecisionOwnTimeoutParallel(b *testing.B) { benchParallel(b, ours(b, false)) }
