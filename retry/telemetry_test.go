package retry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/internal/oteltest"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// recorded is a pipeline with its own span recorder and metric reader.
type recorded struct {
	p      *policy.Pipeline
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
}

func record(t *testing.T, name string, policies ...policy.Policy) recorded {
	t.Helper()
	rec := recorded{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	rec.p = policy.MustNew(name, policies...).With(
		policy.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec.spans))),
		policy.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(rec.reader))))
	return rec
}

// events returns the execution span's events, one line each: the name and
// the attributes a retry sets.
func (r recorded) events(t *testing.T) (sdktrace.ReadOnlySpan, []string) {
	t.Helper()
	var exec sdktrace.ReadOnlySpan
	for _, s := range r.spans.Ended() {
		if s.Name() == r.p.Name()+" execute" {
			exec = s
		}
	}
	if exec == nil {
		t.Fatalf("no execution span among %d spans", len(r.spans.Ended()))
	}
	var lines []string
	for _, e := range exec.Events() {
		attrs := map[attribute.Key]string{}
		for _, kv := range e.Attributes {
			attrs[kv.Key] = kv.Value.String()
		}
		lines = append(lines, fmt.Sprintf("%s policy=%s attempt=%s delay=%s error.type=%s", e.Name,
			attrs[policy.AttrPolicy], attrs[policy.AttrAttempt], attrs[policy.AttrDelay], attrs[policy.AttrErrorType]))
	}
	return exec, lines
}

// counts returns the resilience.events counter by policy and event.
func (r recorded) counts(t *testing.T) map[string]int64 {
	t.Helper()
	return oteltest.Int64s(t, r.reader, policy.MetricEvents, "policy", "event")
}

func TestEachRetryIsAnEventBeforeItsWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := record(t, "payments", mustNew(t, retry.Config{Jitter: retry.NoJitter}, retry.WithName("payments-retry")))
		f := failing(errFlaky, fmt.Errorf("again: %w", pushback{time.Second}))
		if err := rec.p.Execute(context.Background(), f.run); err != nil {
			t.Fatalf("err = %v, want success on the third attempt", err)
		}
		_, events := rec.events(t)
		want := []string{
			"retry policy=payments-retry attempt=2 delay=0.1 error.type=*errors.errorString",
			"retry policy=payments-retry attempt=3 delay=1 error.type=*fmt.wrapError",
		}
		if fmt.Sprint(events) != fmt.Sprint(want) {
			t.Errorf("events =\n%q\nwant\n%q", events, want)
		}
		attempts := 0
		for _, s := range rec.spans.Ended() {
			if s.Name() == "payments attempt" {
				attempts++
			}
		}
		if attempts != 3 {
			t.Errorf("%d attempt spans, want 3", attempts)
		}
		if got := rec.counts(t); got["payments-retry retry"] != 2 || len(got) != 1 {
			t.Errorf("events counter = %v, want 2 retries", got)
		}
	})
}

func TestExhaustionIsAnEventAndTheExecutionsError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := record(t, "payments", mustNew(t, retry.Config{MaxRetries: 1, Jitter: retry.NoJitter}))
		err := rec.p.Execute(context.Background(), failing(errFlaky, errFlaky).run)
		if !errors.Is(err, retry.ErrExhausted) {
			t.Fatalf("err = %v, want exhaustion", err)
		}
		exec, events := rec.events(t)
		want := []string{
			"retry policy=retry attempt=2 delay=0.1 error.type=*errors.errorString",
			"retry.exhausted policy=retry attempt=2 delay= error.type=*errors.errorString",
		}
		if fmt.Sprint(events) != fmt.Sprint(want) {
			t.Errorf("events =\n%q\nwant\n%q", events, want)
		}
		if exec.Status().Code != codes.Error {
			t.Errorf("execution status = %v, want Error", exec.Status())
		}
		for _, kv := range exec.Attributes() {
			if kv.Key == policy.AttrErrorType && kv.Value.AsString() != "retry_exhausted" {
				t.Errorf("execution error.type = %v, want retry_exhausted", kv.Value.String())
			}
		}
		if got := rec.counts(t); got["retry retry"] != 1 || got["retry retry.exhausted"] != 1 {
			t.Errorf("events counter = %v, want a retry and an exhaustion", got)
		}
	})
}

func TestABudgetRefusalIsAnEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		budget := mustTokenBucket(t, 2, 0.1)
		rec := record(t, "payments", mustNew(t, retry.Config{}, retry.WithBudget(budget)))
		if err := rec.p.Execute(context.Background(), failing(errFlaky).run); err != errFlaky {
			t.Fatalf("err = %v, want the attempt's error", err)
		}
		_, events := rec.events(t)
		want := []string{"retry.budget_exhausted policy=retry attempt=1 delay= error.type=*errors.errorString"}
		if fmt.Sprint(events) != fmt.Sprint(want) {
			t.Errorf("events =\n%q\nwant\n%q", events, want)
		}
		if got := rec.counts(t); got["retry retry.budget_exhausted"] != 1 || len(got) != 1 {
			t.Errorf("events counter = %v, want one budget refusal", got)
		}
	})
}

func TestExecuteRecordsTelemetryUnderTheRetrysName(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var heard []string
		r := mustNew(t, retry.Config{}, retry.WithName("fetch"),
			retry.WithOnRetry(func(op string, attempt int, _ time.Duration) { heard = append(heard, fmt.Sprint(op, attempt)) }))
		if err := r.Execute(context.Background(), failing(errFlaky).run); err != nil || fmt.Sprint(heard) != "[fetch2]" {
			t.Errorf("Execute = %v, listener heard %v; want success after one retry of operation fetch", err, heard)
		}
	})
}

// TestAnOpenBreakerIsWaitedForNotHammered puts a real breaker inside the
// retry: once it opens, the retry ends with its rejection, or, when asked to
// retry rejections, waits until the breaker admits a trial.
func TestAnOpenBreakerIsWaitedForNotHammered(t *testing.T) {
	for _, retryRejected := range []bool{false, true} {
		t.Run(fmt.Sprint("RetryRejected=", retryRejected), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b, err := breaker.New("payments", breaker.Config{FailureThreshold: 2, Cooldown: 5 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				rec := record(t, "payments", mustNew(t, retry.Config{Jitter: retry.NoJitter, RetryRejected: retryRejected}), b)
				start := time.Now()
				f := failing(errFlaky, errFlaky)
				err = rec.p.Execute(context.Background(), f.run)
				elapsed := time.Since(start)
				_, events := rec.events(t)
				if !retryRejected {
					// Fails at 0 and 100ms, which opens the breaker; its
					// rejection at 300ms ends the execution.
					if !errors.Is(err, breaker.ErrOpen) || f.calls != 2 || elapsed != 300*time.Millisecond {
						t.Errorf("err = %v after %d calls and %v; want the breaker's rejection at 300ms", err, f.calls, elapsed)
					}
					return
				}
				// The rejection at 300ms asks for the rest of the 5s cooldown,
				// which began at 100ms: the trial runs at 5.1s, and succeeds.
				if err != nil || f.calls != 3 || elapsed != 5100*time.Millisecond {
					t.Errorf("err = %v after %d calls and %v; want success on the breaker's trial at 5.1s", err, f.calls, elapsed)
				}
				var retries []string
				for _, e := range events {
					if strings.HasPrefix(e, "retry ") {
						retries = append(retries, e)
					}
				}
				// The policy counts its tries, the rejected one included: the
				// trial is its 4th, the function's 3rd attempt.
				want := []string{
					"retry policy=retry attempt=2 delay=0.1 error.type=*errors.errorString",
					"retry policy=retry attempt=3 delay=0.2 error.type=*errors.errorString",
					"retry policy=retry attempt=4 delay=4.8 error.type=breaker_open",
				}
				if fmt.Sprint(retries) != fmt.Sprint(want) {
					t.Errorf("retry events =\n%q\nwant\n%q", retries, want)
				}
			})
		})
	}
}
