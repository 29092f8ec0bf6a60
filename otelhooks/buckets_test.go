package otelhooks_test

import (
	"context"
	"net/http"
	"regexp"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/otelhooks"
	"github.com/aragora/resilience/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// durationHistograms runs p once, with a function that takes d, and returns
// the execution and attempt histograms that reader collects.
func durationHistograms(t *testing.T, reader *sdkmetric.ManualReader, p *policy.Pipeline, d time.Duration) (exec, attempt metricdata.HistogramDataPoint[float64]) {
	t.Helper()
	require.NoError(t, p.Execute(context.Background(), func(context.Context) error {
		time.Sleep(d)
		return nil
	}))
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			h, ok := m.Data.(metricdata.Histogram[float64])
			if !ok || len(h.DataPoints) != 1 {
				continue
			}
			switch m.Name {
			case policy.MetricExecutionDuration:
				exec = h.DataPoints[0]
			case policy.MetricAttemptDuration:
				attempt = h.DataPoints[0]
			}
		}
	}
	require.NotEmpty(t, exec.Bounds, "no execution histogram")
	require.NotEmpty(t, attempt.Bounds, "no attempt histogram")
	return exec, attempt
}

// bucketOf returns the count of the bucket whose upper bound is bound.
func bucketOf(t *testing.T, dp metricdata.HistogramDataPoint[float64], bound float64) uint64 {
	t.Helper()
	for i, b := range dp.Bounds {
		if b == bound {
			return dp.BucketCounts[i]
		}
	}
	t.Fatalf("no bound %v in %v", bound, dp.Bounds)
	return 0
}

// DurationBoundaries without bounds are the boundaries the policy package
// records with: the copy cannot drift.
func TestDurationBoundariesDefaultsAreThePolicysOwn(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	exec, attempt := durationHistograms(t, reader, policy.MustNew("defaults").With(policy.WithMeterProvider(mp)), 0)
	want, err := otelhooks.DurationBoundaries()
	require.NoError(t, err)
	assert.Equal(t, want, exec.Bounds)
	assert.Equal(t, want, attempt.Bounds)
}

// DurationViews add each latency threshold to the boundaries of both
// duration histograms, so that a call of 280ms is counted within a 300ms
// threshold and beyond 250ms.
func TestDurationViewsAddTheThresholds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		views, err := otelhooks.DurationViews(300*time.Millisecond, 0, 250*time.Millisecond, 90*time.Second, 300*time.Millisecond)
		require.NoError(t, err)
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithView(views...))
		defer func() { _ = mp.Shutdown(context.Background()) }()
		p := policy.MustNew("search").With(policy.WithMeterProvider(mp))

		exec, attempt := durationHistograms(t, reader, p, 280*time.Millisecond)
		want := []float64{
			0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
			0.1, 0.25, 0.3, 0.5, 1, 2.5, 5, 10, 30, 60, 90,
		}
		for _, dp := range []metricdata.HistogramDataPoint[float64]{exec, attempt} {
			assert.Equal(t, want, dp.Bounds)
			assert.Equal(t, uint64(1), bucketOf(t, dp, 0.3), "the 280ms call is not within 300ms")
			assert.Zero(t, bucketOf(t, dp, 0.25), "the 280ms call is within 250ms")
		}
		got, err := otelhooks.DurationBoundaries(300*time.Millisecond, 90*time.Second)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})
}

// A negative boundary is an error, from each of the three.
func TestLatencyBoundariesRefuseNegative(t *testing.T) {
	const msg = "otelhooks: latency boundary -1.5s is negative"
	_, err := otelhooks.DurationBoundaries(time.Second, -1500*time.Millisecond)
	assert.EqualError(t, err, msg)
	views, err := otelhooks.DurationViews(-1500 * time.Millisecond)
	assert.EqualError(t, err, msg)
	assert.Nil(t, views)

	mp := otel.GetMeterProvider()
	shutdown, err := otelhooks.Setup(context.Background(), otelhooks.WithLatencyBoundaries(time.Second),
		otelhooks.WithLatencyBoundaries(-1500*time.Millisecond))
	assert.EqualError(t, err, msg)
	assert.Nil(t, shutdown)
	assert.True(t, otel.GetMeterProvider() == mp, "a failed Setup changed the global meter provider")
}

// Setup with WithLatencyBoundaries serves the thresholds as le labels of
// both duration histograms; the other histograms keep their buckets.
func TestSetupWithLatencyBoundaries(t *testing.T) {
	mux := http.NewServeMux()
	setup(t, otelhooks.WithServeMux(mux), otelhooks.WithLatencyBoundaries(300*time.Millisecond),
		otelhooks.WithLatencyBoundaries(0, 1200*time.Millisecond))
	require.NoError(t, policy.MustNew("search").Execute(context.Background(), func(context.Context) error { return nil }))
	cb, err := otelhooks.NewMetricsCallbacks("app")
	require.NoError(t, err)
	cb.TimeoutOccurred("search", time.Second)

	body := scrape(t, mux, "text/plain")
	for _, series := range []string{"resilience_execution_duration_seconds_bucket", "resilience_attempt_duration_seconds_bucket"} {
		assert.Regexp(t, regexp.MustCompile(`(?m)^`+series+`\{[^}]*le="0.0001"[^}]*\} [01]$`), body)
		for _, le := range []string{"0.25", "0.3", "1.2", "60", "+Inf"} { // cumulative: the call is in each
			assert.Regexp(t, regexp.MustCompile(`(?m)^`+series+`\{[^}]*le="`+regexp.QuoteMeta(le)+`"[^}]*\} 1$`), body)
		}
	}
	assert.NotRegexp(t, `(?m)^app_timeout_duration_seconds_bucket\{[^}]*le="0.3"`, body)
	assert.Regexp(t, `(?m)^app_timeout_duration_seconds_bucket\{[^}]*le="0.25"`, body)
}
