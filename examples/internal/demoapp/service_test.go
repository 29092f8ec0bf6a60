package demoapp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/examples/internal/demoapp"
	"github.com/aragora/resilience/otelhooks"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
	"github.com/aragora/resilience/slo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// testConfig is the demo's configuration with the end-to-end tests'
// settings: quick retries, a breaker that opens after 3 failures and stays
// open, an objective that two bad calls in three do not alert.
func testConfig() demoapp.Config {
	cfg := demoapp.DefaultConfig()
	cfg.Name = "svc"
	cfg.Retry = retry.Config{MaxRetries: 2, BaseDelay: 20 * time.Millisecond, Jitter: retry.NoJitter}
	cfg.Breaker = breaker.Config{FailureThreshold: 3, SuccessThreshold: 1, Cooldown: time.Minute}
	cfg.Objective = slo.Objective{Availability: 0.3, Window: time.Hour}
	return cfg
}

// newService returns the demo's service with cfg, recording its spans and
// the callbacks' metrics.
func newService(t *testing.T, cfg demoapp.Config, up *demoapp.Upstream) (*demoapp.Service, *tracetest.SpanRecorder, *sdkmetric.ManualReader) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	cb, err := otelhooks.NewMetricsCallbacks("demo", otelhooks.WithMeterProvider(mp))
	require.NoError(t, err)
	s, err := demoapp.New(cfg, up, cb, demoapp.WithTracerProvider(tp), demoapp.WithMeterProvider(mp))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s, rec, reader
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, change := range map[string]func(*demoapp.Config){
		"no name":           func(c *demoapp.Config) { c.Name = "" },
		"negative timeout":  func(c *demoapp.Config) { c.Timeout = -time.Second },
		"negative hedge":    func(c *demoapp.Config) { c.HedgeDelay = -time.Second },
		"bad bulkhead":      func(c *demoapp.Config) { c.Bulkhead.MaxConcurrent = -1 },
		"bad SLO objective": func(c *demoapp.Config) { c.Objective.Availability = 2 },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := demoapp.DefaultConfig()
			change(&cfg)
			_, err := demoapp.New(cfg, demoapp.NewUpstream(demoapp.UpstreamConfig{}), nil)
			assert.Error(t, err)
		})
	}
}

// spanTree indexes the recorded spans.
type spanTree struct {
	spans  []sdktrace.ReadOnlySpan
	byID   map[string]sdktrace.ReadOnlySpan
	byName map[string][]sdktrace.ReadOnlySpan
}

func tree(rec *tracetest.SpanRecorder) spanTree {
	t := spanTree{spans: rec.Ended(), byID: map[string]sdktrace.ReadOnlySpan{}, byName: map[string][]sdktrace.ReadOnlySpan{}}
	for _, s := range t.spans {
		t.byID[s.SpanContext().SpanID().String()] = s
		t.byName[s.Name()] = append(t.byName[s.Name()], s)
	}
	return t
}

// parent returns the name of s's parent, "" for a root.
func (t spanTree) parent(s sdktrace.ReadOnlySpan) string {
	if p, ok := t.byID[s.Parent().SpanID().String()]; ok {
		return p.Name()
	}
	return ""
}

func eventNames(s sdktrace.ReadOnlySpan) []string {
	var names []string
	for _, e := range s.Events() {
		if e.Name != "exception" {
			names = append(names, e.Name)
		}
	}
	return names
}

func attr(s sdktrace.ReadOnlySpan, key attribute.Key) attribute.Value {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// The scenario of the end-to-end tests, in process: what they look for in
// Jaeger and Prometheus is what the pipelines record.
func TestServiceScenario(t *testing.T) {
	up := demoapp.NewUpstream(demoapp.UpstreamConfig{})
	s, rec, reader := newService(t, testConfig(), up)
	ctx := context.Background()

	up.FailNext(2)
	a, err := s.Fetch(ctx)
	require.NoError(t, err, "two failures then a success")
	assert.Equal(t, demoapp.Answer{Text: "answer #3"}, a)
	up.SetDown(true)
	_, err = s.Fetch(ctx)
	require.ErrorIs(t, err, demoapp.ErrUnavailable, "the outage's last response")
	require.Equal(t, breaker.Open, s.Breaker.State())
	a, err = s.Fetch(ctx)
	require.NoError(t, err, "the open breaker's refusal is answered from the cache")
	assert.Equal(t, demoapp.Answer{Text: "answer #3", Cached: true}, a)
	assert.Equal(t, 6, up.Calls(), "the refused call never reached the upstream")

	tr := tree(rec)
	var events, fallbacks [][]string
	for _, sp := range tr.byName["svc execute"] {
		assert.Equal(t, "svc-fallback attempt", tr.parent(sp))
		events = append(events, eventNames(sp))
	}
	for _, sp := range tr.byName["svc-fallback execute"] {
		fallbacks = append(fallbacks, eventNames(sp))
	}
	assert.Equal(t, [][]string{
		{"retry", "retry"},
		{"retry", "retry", "breaker.state_change", "retry.exhausted"},
		{"breaker.rejected"},
	}, events)
	assert.Equal(t, [][]string{nil, nil, {"fallback"}}, fallbacks)
	attempts := tr.byName["svc attempt"]
	assert.Len(t, attempts, 6)
	for _, sp := range attempts {
		assert.Equal(t, "svc execute", tr.parent(sp))
	}
	gets := tr.byName["HTTP GET"]
	assert.Len(t, gets, 6, "one client span per attempt")
	for _, sp := range gets {
		assert.Equal(t, "svc attempt", tr.parent(sp))
	}

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	counters := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					counters[m.Name] += dp.Value
				}
			}
		}
	}
	for name, v := range map[string]int64{"demo.retry.attempts": 4, "demo.retry.exhausted": 1, "demo.circuit_breaker.state_changes": 1, policy.MetricEvents: 8} {
		assert.Equal(t, v, counters[name], name)
	}
}

// A slow answer is hedged: the hedged attempt answers first, and the trace
// shows both attempts, each with its HTTP client span.
func TestServiceHedgesASlowUpstream(t *testing.T) {
	up := demoapp.NewUpstream(demoapp.UpstreamConfig{SlowLatency: 10 * time.Second})
	cfg := testConfig()
	cfg.HedgeDelay = 20 * time.Millisecond
	cfg.Timeout = 20 * time.Second
	s, rec, _ := newService(t, cfg, up)

	up.SlowNext(1)
	start := time.Now()
	a, err := s.Fetch(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "answer #2", a.Text, "the hedged call's answer")
	assert.Less(t, time.Since(start), 5*time.Second, "the slow call was not waited for")

	tr := tree(rec)
	require.Len(t, tr.byName["svc execute"], 1)
	assert.Equal(t, []string{"hedge"}, eventNames(tr.byName["svc execute"][0]))
	attempts := tr.byName["svc attempt"]
	require.Len(t, attempts, 2)
	hedged := 0
	for _, sp := range attempts {
		if attr(sp, "resilience.hedge").AsBool() {
			hedged++
		}
	}
	assert.Equal(t, 1, hedged, "one attempt is the hedge")
	gets := tr.byName["HTTP GET"]
	require.Len(t, gets, 2)
	for _, sp := range gets {
		assert.Equal(t, "svc attempt", tr.parent(sp))
	}
}

func TestServiceHTTP(t *testing.T) {
	get := func(h http.Handler, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	t.Run("an answer, the outage, the cache", func(t *testing.T) {
		up := demoapp.NewUpstream(demoapp.UpstreamConfig{})
		s, rec, _ := newService(t, testConfig(), up)
		mux := http.NewServeMux()
		s.Register(mux)

		r := get(mux, "/")
		assert.Equal(t, http.StatusOK, r.Code)
		assert.True(t, strings.HasPrefix(r.Body.String(), "answer #1 (trace "), r.Body.String())
		up.SetDown(true)
		r = get(mux, "/")
		assert.Equal(t, http.StatusBadGateway, r.Code, r.Body.String())
		r = get(mux, "/")
		assert.Equal(t, http.StatusOK, r.Code, "the open breaker's refusal answered from the cache")
		assert.Equal(t, "cache", r.Header().Get(demoapp.FallbackHeader))
		assert.True(t, strings.HasPrefix(r.Body.String(), "answer #1, cached"), r.Body.String())

		// One tree per request: GET / (otelhttp's server span), the
		// fallback's pipeline, the upstream's, and a client span per attempt.
		tr := tree(rec)
		for name, parent := range map[string]string{
			"GET /":                "",
			"svc-fallback execute": "GET /",
			"svc-fallback attempt": "svc-fallback execute",
			"svc execute":          "svc-fallback attempt",
			"svc attempt":          "svc execute",
			"HTTP GET":             "svc attempt",
		} {
			require.NotEmpty(t, tr.byName[name], name)
			for _, sp := range tr.byName[name] {
				assert.Equal(t, parent, tr.parent(sp), "parent of %s", name)
			}
		}
		assert.Len(t, tr.byName["GET /"], 3)
	})
	t.Run("no cache yet: the breaker's refusal", func(t *testing.T) {
		up := demoapp.NewUpstream(demoapp.UpstreamConfig{})
		s, _, _ := newService(t, testConfig(), up)
		mux := http.NewServeMux()
		s.Register(mux)
		up.SetDown(true)
		assert.Equal(t, http.StatusBadGateway, get(mux, "/").Code)
		r := get(mux, "/")
		assert.Equal(t, http.StatusServiceUnavailable, r.Code)
		assert.Equal(t, "breaker", r.Header().Get(demoapp.RejectedByHeader))
		assert.Contains(t, r.Body.String(), "open")

		r = get(mux, "/health")
		var report struct {
			Status string `json:"status"`
			Checks map[string][]struct {
				Status string `json:"status"`
			} `json:"checks"`
		}
		require.NoError(t, json.Unmarshal(r.Body.Bytes(), &report), r.Body.String())
		assert.Equal(t, "warn", report.Status, r.Body.String())
		assert.Equal(t, "warn", report.Checks["breaker"][0].Status, r.Body.String())
		assert.Equal(t, http.StatusNotFound, get(mux, "/nowhere").Code)
	})
}
