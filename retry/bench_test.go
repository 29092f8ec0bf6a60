package retry_test

import (
	"context"
	"testing"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
	"github.com/aragora/resilience/timeout"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// The benchmarks come in pairs: a floor (BenchmarkFloor…) and the policy
// measured against it, in the same run, so that the ratios hold whatever the
// machine. Telemetry is off (no-op providers): its cost is the core's.

// op is the protected call, held in a variable as callers hold theirs, so
// that no benchmark inlines it.
var op = func(context.Context) error { return nil }

var opInt = func(context.Context) (int, error) { return 1, nil }

var sink error

// handLoop is the retry loop a careful programmer writes by hand: four
// attempts, doubling delays, one timer, context-aware waits.
func handLoop(ctx context.Context, fn func(context.Context) error, delay time.Duration) error {
	var t *time.Timer
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || attempt == 4 || ctx.Err() != nil {
			if t != nil {
				t.Stop()
			}
			return err
		}
		if t == nil {
			t = time.NewTimer(delay)
		} else {
			t.Reset(delay)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		delay *= 2
	}
}

func BenchmarkFloorDirect(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sink = op(ctx)
	}
}

func BenchmarkFloorDirectParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			_ = op(ctx)
		}
	})
}

func BenchmarkFloorHandLoop(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sink = handLoop(ctx, op, 100*time.Millisecond)
	}
}

func BenchmarkFloorHandLoopParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			_ = handLoop(ctx, op, 100*time.Millisecond)
		}
	})
}

// BenchmarkDo is a successful first attempt through retry.Do: target ≤ 3×
// BenchmarkFloorHandLoop, 0 allocations.
func BenchmarkDo(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sink = retry.Do(ctx, retry.Config{}, op)
	}
}

func BenchmarkDoParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			_ = retry.Do(ctx, retry.Config{}, op)
		}
	})
}

func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, sink = retry.Get(ctx, retry.Config{}, opInt)
	}
}

// pass is a policy that only runs the rest of the pipeline: in a floor
// pipeline, it stands where the retry stands in the measured one, so that
// the ratio is the retry's own cost.
type pass struct{}

func (pass) Run(ctx context.Context, ex policy.Execution) error { return ex.Next(ctx) }

func off(b *testing.B, policies ...policy.Policy) *policy.Pipeline {
	b.Helper()
	p, err := policy.New("bench", policies...)
	if err != nil {
		b.Fatal(err)
	}
	return p.With(policy.WithTracerProvider(tracenoop.NewTracerProvider()),
		policy.WithMeterProvider(metricnoop.NewMeterProvider()))
}

func benchPipeline(b *testing.B, p *policy.Pipeline) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sink = p.Execute(ctx, op)
	}
}

func benchPipelineParallel(b *testing.B, p *policy.Pipeline) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			_ = p.Execute(ctx, op)
		}
	})
}

func newRetry(b *testing.B) *retry.Retry {
	r, err := retry.New(retry.Config{})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func BenchmarkFloorPipeline(b *testing.B)         { benchPipeline(b, off(b, pass{})) }
func BenchmarkFloorPipelineParallel(b *testing.B) { benchPipelineParallel(b, off(b, pass{})) }

// BenchmarkPipelineRetry is the policy in a pipeline: target ≈ 1×
// BenchmarkFloorPipeline, 0 allocations.
func BenchmarkPipelineRetry(b *testing.B)         { benchPipeline(b, off(b, newRetry(b))) }
func BenchmarkPipelineRetryParallel(b *testing.B) { benchPipelineParallel(b, off(b, newRetry(b))) }

// BenchmarkPipelineRetryTokenBucketParallel adds a shared token bucket: a
// success on a full bucket costs one atomic load. Target ≈ 1×
// BenchmarkPipelineRetryParallel.
func BenchmarkPipelineRetryTokenBucketParallel(b *testing.B) {
	budget, _ := retry.NewTokenBucket(10, 0.1)
	r, _ := retry.New(retry.Config{}, retry.WithBudget(budget))
	benchPipelineParallel(b, off(b, r))
}

// BenchmarkPipelineRetryConcurrencyBudgetParallel adds a shared concurrency
// budget: two contended atomic adds per execution.
func BenchmarkPipelineRetryConcurrencyBudgetParallel(b *testing.B) {
	budget, _ := retry.NewConcurrencyBudget(20, 3)
	r, _ := retry.New(retry.Config{}, retry.WithBudget(budget))
	benchPipelineParallel(b, off(b, r))
}

func breakerAndTimeout(b *testing.B) []policy.Policy {
	br, err := breaker.New("bench", breaker.Config{})
	if err != nil {
		b.Fatal(err)
	}
	to, err := timeout.New(time.Second)
	if err != nil {
		b.Fatal(err)
	}
	return []policy.Policy{br, to}
}

// BenchmarkFloorHandLoopTimeout is a hand-written retry loop with a
// per-attempt timeout.
func BenchmarkFloorHandLoopTimeout(b *testing.B) {
	ctx := context.Background()
	withTimeout := func(ctx context.Context) error {
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return op(c)
	}
	b.ReportAllocs()
	for b.Loop() {
		sink = handLoop(ctx, withTimeout, 100*time.Millisecond)
	}
}

// BenchmarkFloorPipelineBreakerTimeout is the pipeline of
// BenchmarkPipelineRetryBreakerTimeout with the retry replaced by pass.
func BenchmarkFloorPipelineBreakerTimeout(b *testing.B) {
	benchPipeline(b, off(b, append([]policy.Policy{pass{}}, breakerAndTimeout(b)...)...))
}

// BenchmarkPipelineRetryBreakerTimeout is the usual pipeline: retry, then a
// breaker, then a per-attempt timeout.
func BenchmarkPipelineRetryBreakerTimeout(b *testing.B) {
	benchPipeline(b, off(b, append([]policy.Policy{newRetry(b)}, breakerAndTimeout(b)...)...))
}

func BenchmarkPipelineRetryBreakerTimeoutParallel(b *testing.B) {
	benchPipelineParallel(b, off(b, append([]policy.Policy{newRetry(b)}, breakerAndTimeout(b)...)...))
}

// failOnce fails every other call: each execution makes one retry.
func failOnce() func(context.Context) error {
	n := 0
	return func(context.Context) error {
		n++
		if n%2 == 1 {
			return errFlaky
		}
		return nil
	}
}

// BenchmarkFloorHandLoopOneRetry and BenchmarkDoOneRetry wait a real 1µs
// timer once per execution: the cost of a retry, timer included.
func BenchmarkFloorHandLoopOneRetry(b *testing.B) {
	ctx, fn := context.Background(), failOnce()
	b.ReportAllocs()
	for b.Loop() {
		sink = handLoop(ctx, fn, time.Microsecond)
	}
}

func BenchmarkDoOneRetry(b *testing.B) {
	ctx, fn := context.Background(), failOnce()
	cfg := retry.Config{BaseDelay: time.Microsecond, Jitter: retry.NoJitter}
	b.ReportAllocs()
	for b.Loop() {
		sink = retry.Do(ctx, cfg, fn)
	}
}
