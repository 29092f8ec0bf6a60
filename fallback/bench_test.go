package fallback_test

import (
	"context"
	"testing"

	"github.com/aragora/resilience/fallback"
	"github.com/aragora/resilience/internal/benchfloor"
	"github.com/aragora/resilience/policy"
)

// The floor is a pipeline that holds a policy doing nothing but ex.Next,
// measured in the same run: the targets are a fallback that passes a success
// through ≤ 1.1× the floor, and one that replaces a failure (a predicate, the
// fallback function, an event) ≤ 1.5×, both with no allocation.

var benchErr = errUpstream

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
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = p.Execute(ctx, fn)
		}
	})
}

func benchFallback(b *testing.B) *fallback.Fallback {
	return mustNew(b, func(context.Context, error) error { return nil })
}

func BenchmarkFloorPipelineNopPolicy(b *testing.B) {
	benchRun(b, benchfloor.Off(benchfloor.Pass{}), fail(nil))
}

func BenchmarkFloorPipelineNopPolicyParallel(b *testing.B) {
	benchRunParallel(b, benchfloor.Off(benchfloor.Pass{}), fail(nil))
}

func BenchmarkSuccess(b *testing.B) {
	benchRun(b, benchfloor.Off(benchFallback(b)), fail(nil))
}

func BenchmarkSuccessParallel(b *testing.B) {
	benchRunParallel(b, benchfloor.Off(benchFallback(b)), fail(nil))
}

func BenchmarkReplaced(b *testing.B) {
	benchRun(b, benchfloor.Off(benchFallback(b)), fail(benchErr))
}

func BenchmarkReplacedParallel(b *testing.B) {
	benchRunParallel(b, benchfloor.Off(benchFallback(b)), fail(benchErr))
}

// BenchmarkReplacedValue is the typed form under policy.Get, whose own
// runner is its one allocation; the fallback adds none for a small int.
func BenchmarkReplacedValue(b *testing.B) {
	f := mustValue(b, func(context.Context, error) (int, error) { return 1, nil })
	p := benchfloor.Off(f)
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 0, benchErr }
	b.ReportAllocs()
	for b.Loop() {
		_, _ = policy.Get(ctx, p, fn)
	}
}
