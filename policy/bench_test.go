package policy_test

import (
	"context"
	"testing"
	"time"

	"github.com/aragora/resilience/policy"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// The benchmarks come in pairs: a floor, and what the pipeline costs on top
// of it, measured in one run so that ratios compare like with like.
//
//	BenchmarkDirectCall      ← BenchmarkExecute/off, BenchmarkExecute/global-unset
//	BenchmarkBareSDK         ← BenchmarkExecute/sdk

//go:noinline
func work(context.Context) error { return nil }

var fn = work // called through a variable, as Execute calls it

func BenchmarkDirectCall(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = fn(ctx)
	}
}

func BenchmarkDirectCallParallel(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = fn(ctx)
		}
	})
}

// passThrough is the cheapest possible policy, to measure the cost of a
// pipeline step.
type passThrough struct{}

func (passThrough) Run(ctx context.Context, ex policy.Execution) error { return ex.Next(ctx) }

func sdkProviders() (*sdktrace.TracerProvider, *sdkmetric.MeterProvider) {
	// A span processor that keeps nothing, so memory stays flat over long runs.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(discard{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	return tp, mp
}

// discard is a span processor that drops every span when it ends.
type discard struct{}

func (discard) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discard) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discard) Shutdown(context.Context) error                  { return nil }
func (discard) ForceFlush(context.Context) error                { return nil }

func pipelines(policies ...policy.Policy) map[string]*policy.Pipeline {
	tp, mp := sdkProviders()
	p := policy.MustNew("bench", policies...)
	return map[string]*policy.Pipeline{
		"off":          p.With(policy.WithTracerProvider(tracenoop.NewTracerProvider()), policy.WithMeterProvider(metricnoop.NewMeterProvider())),
		"global-unset": p,
		"sdk":          p.With(policy.WithTracerProvider(tp), policy.WithMeterProvider(mp)),
	}
}

func BenchmarkExecute(b *testing.B) {
	for _, mode := range []string{"off", "global-unset", "sdk"} {
		for _, shape := range []struct {
			name     string
			policies []policy.Policy
		}{{"no-policy", nil}, {"one-policy", []policy.Policy{passThrough{}}}} {
			p := pipelines(shape.policies...)[mode]
			ctx := context.Background()
			b.Run(shape.name+"/"+mode, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_ = p.Execute(ctx, fn)
				}
			})
			b.Run(shape.name+"/"+mode+"/parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						_ = p.Execute(ctx, fn)
					}
				})
			})
		}
	}
}

func BenchmarkGet(b *testing.B) {
	p := pipelines(passThrough{})["off"]
	ctx := context.Background()
	get := func(context.Context) (int, error) { return 1, nil }
	b.ReportAllocs()
	for b.Loop() {
		_, _ = policy.Get(ctx, p, get)
	}
}

// BenchmarkBareSDK is what a hand-written wrapper pays for the telemetry a
// pipeline records: an execution span and an attempt span with the same
// attributes, and the two duration measurements.
func BenchmarkBareSDK(b *testing.B) {
	tp, mp := sdkProviders()
	tracer := tp.Tracer(policy.ScopeName)
	meter := mp.Meter(policy.ScopeName)
	execDur, _ := meter.Float64Histogram("exec", metric.WithUnit("s"))
	attemptDur, _ := meter.Float64Histogram("attempt", metric.WithUnit("s"))
	set := metric.WithAttributeSet(attribute.NewSet(attribute.String("pipeline", "bench"), attribute.String("outcome", "success")))
	pipeline := policy.AttrPipeline.String("bench")
	execOpts := []trace.SpanStartOption{trace.WithAttributes(pipeline)}
	attemptOpts := []trace.SpanStartOption{trace.WithAttributes(pipeline, policy.AttrAttempt.Int(1))}
	outcome := policy.AttrOutcome.String("success")
	ctx := context.Background()
	run := func() {
		start := time.Now()
		ectx, exec := tracer.Start(ctx, "bench execute", execOpts...)
		astart := time.Now()
		actx, attempt := tracer.Start(ectx, "bench attempt", attemptOpts...)
		_ = fn(actx)
		attemptDur.Record(actx, time.Since(astart).Seconds(), set)
		attempt.SetAttributes(outcome)
		attempt.End()
		execDur.Record(ectx, time.Since(start).Seconds(), set)
		exec.SetAttributes(outcome, policy.AttrAttempts.Int(1))
		exec.End()
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			run()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				run()
			}
		})
	})
}
