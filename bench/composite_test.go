package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/timeout"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	fstimeout "github.com/failsafe-go/failsafe-go/timeout"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The composition measured here is the usual one: a retry (at most 3
// attempts, 1µs apart), then a breaker (5 consecutive failures), then a
// per-attempt timeout of one second, around a call that succeeds at once.

func composition(b *testing.B) []policy.Policy {
	return []policy.Policy{newRetry(b), newBreaker(b), must(timeout.New(time.Second))}
}

// failsafeComposition is the same composition in failsafe-go.
func failsafeComposition() failsafe.Executor[any] {
	return failsafe.With[any](
		retrypolicy.NewBuilder[any]().WithMaxRetries(2).WithDelay(retryDelay).ReturnLastFailure().Build(),
		newFailsafeBreaker(),
		fstimeout.New[any](time.Second))
}

// BenchmarkCompositionOff: the composition with telemetry off.
func BenchmarkCompositionOff(b *testing.B) {
	compare(b,
		simple("floor-context-with-timeout", func(*testing.B) func(context.Context) error { return withTimeout }),
		simple("resilience", func(b *testing.B) func(context.Context) error {
			p := off(b, composition(b)...)
			return func(ctx context.Context) error { return p.Execute(ctx, op) }
		}),
		simple("failsafe-go", func(*testing.B) func(context.Context) error {
			ex := failsafeComposition()
			return func(ctx context.Context) error {
				return ex.WithContext(ctx).RunWithExecution(func(e failsafe.Execution[any]) error { return op(e.Context()) })
			}
		}),
	)
}

// BenchmarkCompositionSampled: the composition with the OpenTelemetry SDK
// on, every trace sampled: the telemetry the library records for each
// execution (an execution span with the pipeline's name, the outcome and the
// number of attempts; an attempt span per attempt with its number and
// outcome; a duration histogram of each), against the same telemetry written
// by hand around failsafe-go. Spans are ended into a processor that keeps
// nothing; histograms go to a manual reader.
func BenchmarkCompositionSampled(b *testing.B) {
	telemetryContenders(b, sdktrace.AlwaysSample())
}

// BenchmarkCompositionRatio: as BenchmarkCompositionSampled, under the
// sampler production runs: ParentBased(TraceIDRatioBased(0.01)), at the root
// of a trace, so that 1 execution in 100 records its spans. The histograms
// are recorded for every execution. The floor is the composition with
// telemetry off plus the two histogram records: the cost of a span that does
// not record should be close to nothing.
func BenchmarkCompositionRatio(b *testing.B) {
	telemetryContenders(b, sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01)))
}

func telemetryContenders(b *testing.B, sampler sdktrace.Sampler) {
	sdk := func() (*sdktrace.TracerProvider, *sdkmetric.MeterProvider) {
		return sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(discard{})),
			sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	}
	compare(b,
		simple("floor-sdk-span", func(*testing.B) func(context.Context) error {
			tp, _ := sdk()
			tracer := tp.Tracer("bench")
			return func(ctx context.Context) error {
				ctx, span := tracer.Start(ctx, "bench")
				err := op(ctx)
				span.End()
				return err
			}
		}),
		// Two nested spans: what an execution with one attempt costs the SDK,
		// against floor-sdk-span, what it would cost as one span.
		simple("floor-sdk-two-spans", func(*testing.B) func(context.Context) error {
			tp, _ := sdk()
			tracer := tp.Tracer("bench")
			return func(ctx context.Context) error {
				ctx, exec := tracer.Start(ctx, "bench execute")
				actx, attempt := tracer.Start(ctx, "bench attempt")
				err := op(actx)
				attempt.End()
				exec.End()
				return err
			}
		}),
		simple("floor-off-and-histograms", func(b *testing.B) func(context.Context) error {
			p := off(b, composition(b)...)
			_, mp := sdk()
			h := newHandTelemetry(nil, mp)
			return func(ctx context.Context) error {
				start := time.Now()
				err := p.Execute(ctx, op)
				h.attemptDur.Record(ctx, time.Since(start).Seconds(), h.success...)
				h.execDur.Record(ctx, time.Since(start).Seconds(), h.success...)
				return err
			}
		}),
		simple("resilience", func(b *testing.B) func(context.Context) error {
			tp, mp := sdk()
			p := must(policy.New("bench", composition(b)...)).With(policy.WithTracerProvider(tp), policy.WithMeterProvider(mp))
			return func(ctx context.Context) error { return p.Execute(ctx, op) }
		}),
		simple("failsafe-go-hand", func(*testing.B) func(context.Context) error {
			tp, mp := sdk()
			h := newHandTelemetry(tp, mp)
			ex := failsafeComposition()
			return func(ctx context.Context) error { return h.execute(ctx, ex, op) }
		}),
		simple("failsafe-go-one-span", func(*testing.B) func(context.Context) error {
			tp, _ := sdk()
			tracer := tp.Tracer("bench")
			ex := failsafeComposition()
			return func(ctx context.Context) error {
				ctx, span := tracer.Start(ctx, "bench execute")
				err := ex.WithContext(ctx).RunWithExecution(func(e failsafe.Execution[any]) error { return op(e.Context()) })
				span.End()
				return err
			}
		}),
	)
}

// handTelemetry is the library's telemetry written by hand, as a careful
// programmer would around failsafe-go: every attribute and option built once,
// up front; a span, a clock read and a histogram record per execution and per
// attempt; the outcome set on each span at its end, and an error recorded on
// the attempt span that failed.
type handTelemetry struct {
	tracer                trace.Tracer
	execDur, attemptDur   metric.Float64Histogram
	success, failure      []metric.RecordOption
	execStart             []trace.SpanStartOption
	attemptStart          []trace.SpanStartOption
	okOutcome, errOutcome attribute.KeyValue
}

func newHandTelemetry(tp trace.TracerProvider, mp metric.MeterProvider) *handTelemetry {
	h := &handTelemetry{}
	if tp != nil {
		h.tracer = tp.Tracer(policy.ScopeName)
	}
	meter := mp.Meter(policy.ScopeName)
	h.execDur, _ = meter.Float64Histogram(policy.MetricExecutionDuration, metric.WithUnit("s"))
	h.attemptDur, _ = meter.Float64Histogram(policy.MetricAttemptDuration, metric.WithUnit("s"))
	h.success = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("pipeline", "bench"), attribute.String("outcome", "success")))}
	h.failure = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("pipeline", "bench"), attribute.String("outcome", "failure")))}
	pipeline := policy.AttrPipeline.String("bench")
	h.execStart = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(pipeline)}
	h.attemptStart = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(pipeline)}
	h.okOutcome, h.errOutcome = policy.AttrOutcome.String("success"), policy.AttrOutcome.String("failure")
	return h
}

func (h *handTelemetry) execute(ctx context.Context, ex failsafe.Executor[any], call func(context.Context) error) error {
	start := time.Now()
	ctx, span := h.tracer.Start(ctx, "bench execute", h.execStart...)
	attempts := 0
	err := ex.WithContext(ctx).RunWithExecution(func(e failsafe.Execution[any]) error {
		attempts++
		astart := time.Now()
		actx, aspan := h.tracer.Start(e.Context(), "bench attempt", h.attemptStart...)
		aspan.SetAttributes(policy.AttrAttempt.Int(attempts))
		err := call(actx)
		h.end(actx, aspan, astart, h.attemptDur, err)
		return err
	})
	span.SetAttributes(policy.AttrAttempts.Int(attempts))
	h.end(ctx, span, start, h.execDur, err)
	return err
}

func (h *handTelemetry) end(ctx context.Context, span trace.Span, start time.Time, dur metric.Float64Histogram, err error) {
	if err != nil {
		dur.Record(ctx, time.Since(start).Seconds(), h.failure...)
		span.SetAttributes(h.errOutcome)
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	} else {
		dur.Record(ctx, time.Since(start).Seconds(), h.success...)
		span.SetAttributes(h.okOutcome)
	}
	span.End()
}

// discard is a span processor that drops every span when it ends, so that
// memory stays flat over long runs.
type discard struct{}

func (discard) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discard) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discard) Shutdown(context.Context) error                  { return nil }
func (discard) ForceFlush(context.Context) error                { return nil }
