package throttle_test

import (
	"context"
	"testing"

	"github.com/aragora/resilience/internal/benchfloor"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/throttle"
)

// The floors are pipelines holding a policy that does nothing, and one that
// reads the clock once, as the throttle does, measured in the same run: the
// target is a throttle that admits or refuses ≤ 1.3× the clock floor, with
// no allocation.

func benchRun(b *testing.B, p *policy.Pipeline, fn func(context.Context) error) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Execute(ctx, fn)
	}
}

func benchRunParallel(b *testing.B, p *policy.Pipeline, fn func(context.Context) error) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = p.Execute(ctx, fn)
		}
	})
}

// refusing returns a throttle whose window holds 10,000 refusals by the
// backend: it refuses a call with probability 1 − 1e-4.
func refusing(b *testing.B) *throttle.Throttle {
	thr := mustNew(b, throttle.Config{})
	for range 10_000 {
		_ = thr.Execute(context.Background(), fail(errOverloaded))
	}
	return thr
}

func BenchmarkFloorPipelineNopPolicy(b *testing.B) {
	benchRun(b, benchfloor.Off(benchfloor.Pass{}), fail(nil))
}
func BenchmarkFloorPipelineNopPolicyParallel(b *testing.B) {
	benchRunParallel(b, benchfloor.Off(benchfloor.Pass{}), fail(nil))
}

func BenchmarkFloorPipelineClockPolicy(b *testing.B) {
	benchRun(b, benchfloor.Off(benchfloor.NewClock()), fail(nil))
}

func BenchmarkFloorPipelineClockPolicyParallel(b *testing.B) {
	benchRunParallel(b, benchfloor.Off(benchfloor.NewClock()), fail(nil))
}

func BenchmarkAdmit(b *testing.B) {
	benchRun(b, benchfloor.Off(mustNew(b, throttle.Config{})), fail(nil))
}

func BenchmarkAdmitParallel(b *testing.B) {
	benchRunParallel(b, benchfloor.Off(mustNew(b, throttle.Config{})), fail(nil))
}

func BenchmarkRefuse(b *testing.B) {
	benchRun(b, benchfloor.Off(refusing(b)), fail(errOverloaded))
}

func BenchmarkRefuseParallel(b *testing.B) {
	benchRunParallel(b, benchfloor.Off(refusing(b)), fail(errOverloaded))
}
