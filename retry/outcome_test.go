package retry_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// The nil of an interface type is a value a result predicate must see, in a
// pipeline as in retry.Get.
func TestARetryIfResultSeesTheNilOfAnInterface(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pred := retry.WithRetryIfResult(func(r io.Reader) bool { return r == nil })
		cfg := retry.Config{MaxRetries: 2, Jitter: retry.NoJitter}
		calls := 0
		fn := func(context.Context) (io.Reader, error) {
			calls++
			if calls < 3 {
				return nil, nil // not ready yet: ask for a retry
			}
			return strings.NewReader("ok"), nil
		}
		_, err := retry.Get(context.Background(), cfg, fn, pred)
		require.NoError(t, err)
		require.Equal(t, 3, calls, "retry.Get")

		calls = 0
		v, err := policy.Get(context.Background(), pipeline(t, mustNew(t, cfg, pred)), fn)
		assert.NoError(t, err)
		assert.NotNil(t, v)
		assert.Equal(t, 3, calls, "policy.Get through a Retry retries the nil as retry.Get does")
	})
}

// A budget that refuses the retry a result asked for ends the execution with
// an error, as exhaustion does, never with (bad value, nil).
func TestABudgetRefusalOfAResultRetryIsAnError(t *testing.T) {
	for _, g := range getters {
		t.Run(g.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				budget := mustTokenBucket(t, 2, 0.1) // one failure empties it
				fn, calls := statuses(503, 503, 503)
				v, err := g.get(t, retry.Config{MaxRetries: 3}, fn, unavailable, retry.WithBudget(budget))
				require.Error(t, err)
				assert.ErrorIs(t, err, retry.ErrBudgetExhausted)
				assert.Equal(t, "retry_budget_exhausted", policy.ErrorType(err))
				assert.Equal(t, 503, v.status, "the last value comes with the error")
				assert.Equal(t, 1, *calls)
			})
		})
	}
}

// A server that asks for a pause longer than MaxDelay gets it: the retries end
// with its error, rather than retrying it every MaxDelay.
func TestAPauseAskedBeyondMaxDelayEndsTheRetries(t *testing.T) {
	for _, r := range runners {
		t.Run(r.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				asked := pushback{5 * time.Second}
				f := failing(asked, asked, asked)
				start := time.Now()
				err := r.run(t, context.Background(), retry.Config{MaxDelay: 300 * time.Millisecond}, f.run)
				assert.Equal(t, asked, err, "the error that asked for the pause")
				assert.Equal(t, 1, f.calls)
				assert.Zero(t, time.Since(start))

				// A pause within MaxDelay is waited for.
				within := pushback{200 * time.Millisecond}
				gaps, err := timeline(t, func(fn func(context.Context) error) error {
					return r.run(t, context.Background(), retry.Config{MaxDelay: 300 * time.Millisecond}, fn)
				}, within)
				assert.NoError(t, err)
				assert.Equal(t, []time.Duration{200 * time.Millisecond}, gaps)
			})
		})
	}
}

// A zero or nil Retry fails with a message naming New.
func TestAZeroRetrySaysToBuildItWithNew(t *testing.T) {
	for name, r := range map[string]*retry.Retry{"zero": {}, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			ran := false
			fn := func(context.Context) error { ran = true; return nil }
			err := r.Execute(context.Background(), fn)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "retry.New")
			if r != nil { // a pipeline refuses a nil policy itself
				err = pipeline(t, r).Execute(context.Background(), fn)
				require.Error(t, err)
				assert.Contains(t, err.Error(), "retry.New")
			}
			assert.False(t, ran)
			assert.Equal(t, "retry", r.Name())
		})
	}
}

// Messages round the delays they name for people.
func TestRetryMessagesRoundDelays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		cfg := retry.Config{BaseDelay: 1234567891 * time.Nanosecond, Jitter: retry.NoJitter}
		err := retry.Do(ctx, cfg, failing(errFlaky).run)
		require.Error(t, err)
		assert.Equal(t, "retry: a wait of 1.23s to retry would pass the context's deadline: context deadline exceeded; last attempt: flaky", err.Error())
	})
}

// sdkTelemetry is a recording SDK, installed as the global providers for the
// test's duration.
type sdkTelemetry struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
}

func installSDK(t *testing.T) sdkTelemetry {
	t.Helper()
	s := sdkTelemetry{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	prevTP, prevMP := otel.GetTracerProvider(), otel.GetMeterProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(s.spans)))
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.reader)))
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetMeterProvider(prevMP)
	})
	return s
}

// summary renders what was recorded without its times and ids: each span with
// its attributes and events, then each metric point with its attributes.
func (s sdkTelemetry) summary(t *testing.T) []string {
	t.Helper()
	var lines []string
	kvs := func(attrs []attribute.KeyValue) string {
		parts := make([]string, len(attrs))
		for i, kv := range attrs {
			parts[i] = fmt.Sprintf("%s=%s", kv.Key, kv.Value.String())
		}
		return strings.Join(parts, " ")
	}
	for _, span := range s.spans.Ended() {
		lines = append(lines, fmt.Sprintf("span %q %s status=%s parent=%v", span.Name(), kvs(span.Attributes()), span.Status().Code, span.Parent().IsValid()))
		for _, e := range span.Events() {
			lines = append(lines, fmt.Sprintf("  event %q %s", e.Name, kvs(e.Attributes)))
		}
	}
	var points []string // in no set order: sorted below
	var rm metricdata.ResourceMetrics
	require.NoError(t, s.reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, dp := range data.DataPoints {
					points = append(points, fmt.Sprintf("%s %s count=%d", m.Name, dp.Attributes.Encoded(attribute.DefaultEncoder()), dp.Count))
				}
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					points = append(points, fmt.Sprintf("%s %s value=%d", m.Name, dp.Attributes.Encoded(attribute.DefaultEncoder()), dp.Value))
				}
			}
		}
	}
	slices.Sort(points)
	return append(lines, points...)
}

// Do and Get are one-off forms of a Retry: with an SDK installed they record
// exactly what Retry.Execute records, spans, events and metrics alike.
func TestDoAndGetRecordWhatABuiltRetryRecords(t *testing.T) {
	cfg := retry.Config{MaxRetries: 2, Jitter: retry.NoJitter}
	scenarios := map[string][]error{
		"success after a retry": {errFlaky},
		"exhausted":             {errFlaky, errFlaky, errFlaky},
		"not worth retrying":    {retry.Permanent(errFlaky)},
	}
	for name, errs := range scenarios {
		for _, opts := range [][]retry.Option{nil, {retry.WithName("fetch")}} {
			t.Run(fmt.Sprint(name, len(opts)), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					built := installSDK(t)
					_ = mustNew(t, cfg, opts...).Execute(context.Background(), failing(errs...).run)
					want := built.summary(t)
					require.NotEmpty(t, want)

					do := installSDK(t)
					_ = retry.Do(context.Background(), cfg, failing(errs...).run, opts...)
					assert.Equal(t, want, do.summary(t), "retry.Do")

					get := installSDK(t)
					f := failing(errs...)
					_, _ = retry.Get(context.Background(), cfg, func(ctx context.Context) (int, error) { return 1, f.run(ctx) }, opts...)
					assert.Equal(t, want, get.summary(t), "retry.Get")
				})
			})
		}
	}

	// With a result predicate, Get records what policy.Get through a Retry
	// records.
	synctest.Test(t, func(t *testing.T) {
		built := installSDK(t)
		fn, _ := statuses(503)
		_, err := policy.Get(context.Background(), policy.MustNew("retry", mustNew(t, cfg, unavailable)), fn)
		require.NoError(t, err)
		want := built.summary(t)

		get := installSDK(t)
		fn, _ = statuses(503)
		_, err = retry.Get(context.Background(), cfg, fn, unavailable)
		require.NoError(t, err)
		assert.Equal(t, want, get.summary(t))
		assert.Contains(t, strings.Join(want, "\n"), `event "retry"`)
	})
}

// With telemetry on, the one-off forms keep their own behaviour: a panic
// reaches the caller with its value, and a budget share is released.
func TestDoWithTelemetryReleasesItsBudgetOnAPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sdk := installSDK(t)
		budget, err := retry.NewConcurrencyBudget(0, 1)
		require.NoError(t, err)
		calls := 0
		assert.PanicsWithValue(t, "boom", func() {
			_ = retry.Do(context.Background(), retry.Config{}, func(context.Context) error {
				if calls++; calls == 1 {
					return errFlaky
				}
				panic("boom") // in the retry, which holds the budget's one share
			}, retry.WithBudget(budget))
		})
		assert.Contains(t, strings.Join(sdk.summary(t), "\n"), "resilience.outcome=panic")
		// The budget is free again: a retry is allowed.
		f := failing(errFlaky)
		assert.NoError(t, retry.Do(context.Background(), retry.Config{}, f.run, retry.WithBudget(budget)))
		assert.Equal(t, 2, f.calls)
	})
}
