package policy_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// sleepy fails its first attempts after a fixed time, and succeeds on the last.
func sleepy(failures int, each time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		time.Sleep(each)
		if policy.Attempt(ctx) <= failures {
			return fmt.Errorf("attempt %d: %w", policy.Attempt(ctx), errUpstream)
		}
		return nil
	}
}

var errUpstream = errors.New("upstream unavailable")

// retrying runs the rest of the pipeline up to three times and reports each
// retry it schedules, as the retry package does.
type retrying struct{}

func (retrying) Name() string { return "retry" }

func (retrying) Run(ctx context.Context, ex policy.Execution) error {
	var err error
	for n := 1; n <= 3; n++ {
		if n > 1 {
			ex.Report(policy.Event{Kind: policy.EventRetry, Attempt: n, Delay: 100 * time.Millisecond, Err: err})
			time.Sleep(100 * time.Millisecond)
		}
		if err = ex.Next(ctx); err == nil || policy.OutcomeOf(err) == policy.Panic {
			return err
		}
	}
	return err
}

func TestTheSpanTreeOfAnExecution(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		p := rec.instrument(policy.MustNew("payments", retrying{}))

		ctx, parent := rec.tp.Tracer("caller").Start(context.Background(), "handle request")
		if err := p.Execute(ctx, sleepy(2, 50*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		parent.End()

		exec := rec.span(t, "payments execute")
		if exec.Parent().SpanID() != parent.SpanContext().SpanID() || exec.SpanContext().TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("the execution span is not a child of the caller's span")
		}
		if exec.SpanKind() != trace.SpanKindInternal {
			t.Errorf("execution span kind = %v, want internal", exec.SpanKind())
		}
		if got, want := attrs(exec.Attributes()), map[attribute.Key]any{
			policy.AttrPipeline: "payments", policy.AttrOutcome: "success", policy.AttrAttempts: int64(3),
		}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("execution attributes = %v, want %v", got, want)
		}
		if exec.Status().Code != codes.Unset {
			t.Errorf("execution status = %v, want unset for a success", exec.Status())
		}
		if exec.InstrumentationScope().Name != policy.ScopeName || exec.InstrumentationScope().Version != policy.Version {
			t.Errorf("scope = %+v", exec.InstrumentationScope())
		}
		if d := exec.EndTime().Sub(exec.StartTime()); d != 3*50*time.Millisecond+2*100*time.Millisecond {
			t.Errorf("execution span lasted %v, want the three attempts and two waits", d)
		}

		// The two retry events, on the execution span, in order.
		events := exec.Events()
		if len(events) != 2 {
			t.Fatalf("execution events = %v, want two retries", events)
		}
		for i, ev := range events {
			want := map[attribute.Key]any{
				policy.AttrPolicy: "retry", policy.AttrAttempt: int64(i + 2), policy.AttrDelay: 0.1,
				policy.AttrErrorType: "*fmt.wrapError",
			}
			if ev.Name != "retry" || fmt.Sprint(attrs(ev.Attributes)) != fmt.Sprint(want) {
				t.Errorf("event %d = %s %v, want retry %v", i, ev.Name, attrs(ev.Attributes), want)
			}
		}

		attempts := rec.spansNamed("payments attempt")
		if len(attempts) != 3 {
			t.Fatalf("%d attempt spans, want 3", len(attempts))
		}
		for i, a := range attempts {
			n := i + 1
			if a.Parent().SpanID() != exec.SpanContext().SpanID() {
				t.Errorf("attempt %d is not a child of the execution span", n)
			}
			got := attrs(a.Attributes())
			if got[policy.AttrAttempt] != int64(n) || got[policy.AttrPipeline] != "payments" {
				t.Errorf("attempt %d attributes = %v", n, got)
			}
			if n < 3 {
				if got[policy.AttrOutcome] != "failure" || got[policy.AttrErrorType] != "*fmt.wrapError" {
					t.Errorf("failed attempt %d attributes = %v", n, got)
				}
				if a.Status().Code != codes.Error || !strings.Contains(a.Status().Description, "upstream unavailable") {
					t.Errorf("failed attempt %d status = %v", n, a.Status())
				}
				if len(a.Events()) != 1 || a.Events()[0].Name != "exception" {
					t.Errorf("failed attempt %d events = %v, want the recorded exception", n, a.Events())
				}
			} else if got[policy.AttrOutcome] != "success" || a.Status().Code != codes.Unset || len(a.Events()) != 0 {
				t.Errorf("successful attempt: attributes %v, status %v, events %v", got, a.Status(), a.Events())
			}
			if d := a.EndTime().Sub(a.StartTime()); d != 50*time.Millisecond {
				t.Errorf("attempt %d lasted %v, want 50ms", n, d)
			}
		}
	})
}

func TestTheMetricsOfAnExecution(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		p := rec.instrument(policy.MustNew("payments", retrying{}))
		if err := p.Execute(context.Background(), sleepy(2, 50*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if err := p.Execute(context.Background(), sleepy(5, 10*time.Millisecond)); !errors.Is(err, errUpstream) {
			t.Fatalf("err = %v", err)
		}

		type point struct {
			count uint64
			sum   float64
		}
		histogram := func(name string) map[string]point {
			m := rec.metric(t, name)
			if m.Unit != "s" {
				t.Errorf("%s unit = %q, want s", name, m.Unit)
			}
			got := map[string]point{}
			for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				got[setKey(dp.Attributes)] = point{dp.Count, dp.Sum}
			}
			return got
		}
		near := func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

		exec := histogram(policy.MetricExecutionDuration)
		if len(exec) != 2 || exec["outcome=success,pipeline=payments"].count != 1 ||
			!near(exec["outcome=success,pipeline=payments"].sum, 0.35) ||
			exec["outcome=failure,pipeline=payments"].count != 1 ||
			!near(exec["outcome=failure,pipeline=payments"].sum, 0.23) {
			t.Errorf("%s = %v", policy.MetricExecutionDuration, exec)
		}
		attempt := histogram(policy.MetricAttemptDuration)
		if len(attempt) != 2 || attempt["outcome=success,pipeline=payments"].count != 1 ||
			attempt["outcome=failure,pipeline=payments"].count != 5 ||
			!near(attempt["outcome=failure,pipeline=payments"].sum, 0.13) {
			t.Errorf("%s = %v", policy.MetricAttemptDuration, attempt)
		}

		m := rec.metric(t, policy.MetricEvents)
		if m.Unit != "{event}" {
			t.Errorf("%s unit = %q", policy.MetricEvents, m.Unit)
		}
		sum := m.Data.(metricdata.Sum[int64])
		if !sum.IsMonotonic || len(sum.DataPoints) != 1 {
			t.Fatalf("%s = %+v, want one monotonic series", policy.MetricEvents, sum)
		}
		dp := sum.DataPoints[0]
		if setKey(dp.Attributes) != "event=retry,pipeline=payments,policy=retry" || dp.Value != 4 {
			t.Errorf("%s = %s %d, want 4 retries", policy.MetricEvents, setKey(dp.Attributes), dp.Value)
		}
	})
}

func TestARejectedExecutionHasNoAttempt(t *testing.T) {
	rec := newRecorder()
	p := rec.instrument(policy.MustNew("closed", rejecting{}))
	ran := false
	err := p.Execute(context.Background(), func(context.Context) error { ran = true; return nil })
	if ran || !errors.Is(err, policy.ErrRejected) {
		t.Fatalf("ran = %v, err = %v", ran, err)
	}
	exec := rec.span(t, "closed execute")
	got := attrs(exec.Attributes())
	if got[policy.AttrOutcome] != "rejected" || got[policy.AttrAttempts] != int64(0) || got[policy.AttrErrorType] != "*fmt.wrapError" {
		t.Errorf("execution attributes = %v", got)
	}
	if exec.Status().Code != codes.Error || exec.Status().Description != errClosedForTheDay.Error() {
		t.Errorf("execution status = %v", exec.Status())
	}
	if len(exec.Events()) != 1 || exec.Events()[0].Name != "breaker.rejected" {
		t.Errorf("events = %v", exec.Events())
	}
	if n := len(rec.spansNamed("closed attempt")); n != 0 {
		t.Errorf("%d attempt spans for a rejected execution", n)
	}
	for _, dp := range rec.metric(t, policy.MetricExecutionDuration).Data.(metricdata.Histogram[float64]).DataPoints {
		if setKey(dp.Attributes) != "outcome=rejected,pipeline=closed" {
			t.Errorf("execution recorded as %s", setKey(dp.Attributes))
		}
	}
}

func TestAPanicIsRecordedOnTheAttemptAndTheExecution(t *testing.T) {
	rec := newRecorder()
	p := rec.instrument(policy.MustNew("panics", retrying{}))
	recoverFrom(func() {
		_ = p.Execute(context.Background(), func(context.Context) error { panic("kaboom") })
	})
	for _, name := range []string{"panics execute", "panics attempt"} {
		s := rec.span(t, name)
		got := attrs(s.Attributes())
		if got[policy.AttrOutcome] != "panic" || got[policy.AttrErrorType] != "panic" {
			t.Errorf("%s attributes = %v", name, got)
		}
		if s.Status().Code != codes.Error || s.Status().Description != "policy: panic: kaboom" {
			t.Errorf("%s status = %v", name, s.Status())
		}
		var exception map[attribute.Key]any
		for _, ev := range s.Events() {
			if ev.Name == "exception" {
				exception = attrs(ev.Attributes)
			}
		}
		if stack, _ := exception["exception.stacktrace"].(string); !strings.Contains(stack, "telemetry_test.go") {
			t.Errorf("%s: exception event %v has no stack trace of the panic", name, exception)
		}
	}
	for _, name := range []string{policy.MetricExecutionDuration, policy.MetricAttemptDuration} {
		dps := rec.metric(t, name).Data.(metricdata.Histogram[float64]).DataPoints
		if len(dps) != 1 || setKey(dps[0].Attributes) != "outcome=panic,pipeline=panics" {
			t.Errorf("%s recorded as %v", name, dps)
		}
	}
}

func TestTheGlobalProvidersAreUsedEvenWhenInstalledAfterConstruction(t *testing.T) {
	p := policy.MustNew("late", retrying{}) // built before any SDK exists
	if err := p.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}

	rec := newRecorder()
	prevTP, prevMP := otel.GetTracerProvider(), otel.GetMeterProvider()
	otel.SetTracerProvider(rec.tp)
	otel.SetMeterProvider(rec.mp)
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetMeterProvider(prevMP)
	})

	if err := p.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	rec.span(t, "late execute")
	rec.span(t, "late attempt")
	rec.metric(t, policy.MetricExecutionDuration)
}

func TestASampledOutExecutionStillRunsAndMeasures(t *testing.T) {
	rec := newRecorder()
	p := rec.instrument(policy.MustNew("unsampled", retrying{}))
	// A caller whose span is not sampled: the SDK's default parent-based
	// sampler drops the pipeline's spans too.
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1},
	}))
	var inside trace.SpanContext
	err := p.Execute(ctx, func(ctx context.Context) error {
		inside = trace.SpanContextFromContext(ctx)
		return errUpstream
	})
	if !errors.Is(err, errUpstream) {
		t.Fatal(err)
	}
	if len(rec.spans.Ended()) != 0 {
		t.Errorf("%d spans recorded for an unsampled trace", len(rec.spans.Ended()))
	}
	if inside.TraceID() != (trace.TraceID{1}) {
		t.Errorf("the function's context lost the caller's trace: %v", inside.TraceID())
	}
	dps := rec.metric(t, policy.MetricAttemptDuration).Data.(metricdata.Histogram[float64]).DataPoints
	if len(dps) != 1 || dps[0].Count != 3 {
		t.Errorf("attempt durations = %v, want 3 measured", dps)
	}
}

func TestWithoutTelemetryPoliciesStillReportAndDecide(t *testing.T) {
	var seen []error
	p := policy.MustNew("quiet", repeat{n: 2, seen: &seen}, retrying{}, rejecting{})
	ran := false
	err := p.Execute(context.Background(), func(context.Context) error { ran = true; return nil })
	if ran || !errors.Is(err, policy.ErrRejected) || len(seen) != 2 {
		t.Fatalf("ran = %v, err = %v, outer saw %v; want two rejections and no attempt", ran, err, seen)
	}
}

// countingSampler is the SDK's default sampler, counting the spans it is
// asked about.
type countingSampler struct {
	sdktrace.Sampler
	asked int
}

func (s *countingSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	s.asked++
	return s.Sampler.ShouldSample(p)
}

func TestASampledOutExecutionStartsNoAttemptSpan(t *testing.T) {
	// retrying waits 100ms between attempts: in a bubble, that takes no time.
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		sampler := &countingSampler{Sampler: sdktrace.ParentBased(sdktrace.AlwaysSample())}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(rec.spans))
		p := policy.MustNew("unsampled", retrying{}).With(policy.WithTracerProvider(tp), policy.WithMeterProvider(rec.mp))
		unsampled := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1},
		}))
		var inside []trace.SpanContext
		err := p.Execute(unsampled, func(ctx context.Context) error {
			inside = append(inside, trace.SpanContextFromContext(ctx))
			return errUpstream
		})
		require.ErrorIs(t, err, errUpstream)
		assert.Equal(t, 1, sampler.asked, "the execution span is sampled out: its attempts ask for no span of their own")
		require.Len(t, inside, 3)
		for _, sc := range inside {
			assert.Equal(t, trace.TraceID{1}, sc.TraceID(), "the attempts run in the caller's trace")
			assert.NotEqual(t, trace.SpanID{1}, sc.SpanID(), "the attempts run under the execution's span")
			assert.False(t, sc.IsSampled())
		}

		// A sampled execution asks for its span and one per attempt.
		sampler.asked = 0
		require.ErrorIs(t, p.Execute(context.Background(), func(context.Context) error { return errUpstream }), errUpstream)
		assert.Equal(t, 4, sampler.asked)
		assert.Len(t, rec.spansNamed("unsampled attempt"), 3)
	})
}

// Durations are read from the spans of an execution that records, and from
// the clock otherwise: both ways time the same thing.
func TestDurationsWithoutRecordingSpans(t *testing.T) {
	unsampled := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1},
	}))
	for _, tc := range []struct {
		name string
		ctx  context.Context
		opts []policy.Option
	}{
		{"sampled", context.Background(), nil},
		{"sampled out", unsampled, nil},
		{"metrics only", context.Background(), []policy.Option{policy.WithTracerProvider(tracenoop.NewTracerProvider())}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newRecorder()
				p := rec.instrument(policy.MustNew("timed", retrying{})).With(tc.opts...)
				require.NoError(t, p.Execute(tc.ctx, sleepy(2, 50*time.Millisecond)))

				sum := func(name string) (uint64, float64) {
					dps := rec.metric(t, name).Data.(metricdata.Histogram[float64]).DataPoints
					var n uint64
					var s float64
					for _, dp := range dps {
						n, s = n+dp.Count, s+dp.Sum
					}
					return n, s
				}
				n, s := sum(policy.MetricExecutionDuration)
				assert.Equal(t, uint64(1), n)
				assert.InDelta(t, 0.35, s, 1e-9, "three attempts of 50ms and two waits of 100ms")
				n, s = sum(policy.MetricAttemptDuration)
				assert.Equal(t, uint64(3), n)
				assert.InDelta(t, 0.15, s, 1e-9)
			})
		})
	}
}

// A panic raised by a policy itself, not by the function (a fallback
// function, a classifier or a listener of the user's that panics inside a
// policy's Run), still ends the execution span, recorded as a panic, and
// reaches the caller with its own value.
func TestAPanicOfAPolicyEndsTheExecutionSpan(t *testing.T) {
	rec := newRecorder()
	p := rec.instrument(policy.MustNew("policy-panics", policyFunc(func(ctx context.Context, ex policy.Execution) error {
		_ = ex.Next(ctx)
		panic("listener kaboom")
	})))

	got := recoverFrom(func() {
		_ = p.Execute(context.Background(), func(context.Context) error { return nil })
	})

	assert.Equal(t, "listener kaboom", got, "the caller sees the policy's own panic value")
	s := rec.span(t, "policy-panics execute")
	assert.Equal(t, "panic", attrs(s.Attributes())[policy.AttrOutcome])
	assert.Equal(t, codes.Error, s.Status().Code)
	var exception bool
	for _, ev := range s.Events() {
		exception = exception || ev.Name == "exception"
	}
	assert.True(t, exception, "the panic is an exception event on the execution span")
	dps := rec.metric(t, policy.MetricExecutionDuration).Data.(metricdata.Histogram[float64]).DataPoints
	require.Len(t, dps, 1)
	assert.Equal(t, "outcome=panic,pipeline=policy-panics", setKey(dps[0].Attributes))
}

// A policy that calls runtime.Goexit (t.FailNow in a test's policy, say)
// still ends the execution span, and the goroutine exits as asked.
func TestAGoexitOfAPolicyEndsTheExecutionSpan(t *testing.T) {
	rec := newRecorder()
	p := rec.instrument(policy.MustNew("policy-exits", policyFunc(func(context.Context, policy.Execution) error {
		runtime.Goexit()
		return nil
	})))
	returned := make(chan bool, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Execute(context.Background(), func(context.Context) error { return nil })
		returned <- true
	}()
	<-done
	assert.Empty(t, returned, "Goexit goes on: Execute does not return")
	s := rec.span(t, "policy-exits execute")
	assert.Equal(t, codes.Error, s.Status().Code)
}

// A function that calls runtime.Goexit ends its attempt span as well as the
// execution's.
func TestAGoexitOfTheFunctionEndsBothSpans(t *testing.T) {
	rec := newRecorder()
	p := rec.instrument(policy.MustNew("fn-exits", retrying{}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Execute(context.Background(), func(context.Context) error {
			runtime.Goexit()
			return nil
		})
	}()
	<-done
	for _, name := range []string{"fn-exits execute", "fn-exits attempt"} {
		assert.Equal(t, codes.Error, rec.span(t, name).Status().Code, name)
	}
}
