package demoapp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/examples/internal/demoapp"
	"github.com/aragora/resilience/otelhooks"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
	"github.com/aragora/resilience/slo"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// newService returns the demo's service with the end-to-end tests' settings,
// recording its spans and the callbacks' metrics.
func newService(t *testing.T, up *demoapp.Upstream) (*demoapp.Service, *tracetest.SpanRecorder, *sdkmetric.ManualReader) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	cb, err := otelhooks.NewMetricsCallbacks("demo", otelhooks.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	cfg := demoapp.DefaultConfig()
	cfg.Name = "svc"
	cfg.Retry = retry.Config{MaxRetries: 2, BaseDelay: 20 * time.Millisecond, Jitter: retry.NoJitter}
	cfg.Breaker = breaker.Config{FailureThreshold: 3, SuccessThreshold: 1, Cooldown: time.Minute}
	cfg.Objective = slo.Objective{Availability: 0.3, Window: time.Hour}
	s, err := demoapp.New(cfg, up, cb)
	if err != nil {
		t.Fatal(err)
	}
	s.Pipeline = s.Pipeline.With(policy.WithTracerProvider(tp), policy.WithMeterProvider(mp))
	t.Cleanup(s.Close)
	return s, rec, reader
}

func TestNewRejectsBadConfig(t *testing.T) {
	cfg := demoapp.DefaultConfig()
	cfg.Name = ""
	if _, err := demoapp.New(cfg, demoapp.NewUpstream(demoapp.UpstreamConfig{}), nil); err == nil {
		t.Error("New accepted a config with no name")
	}
	cfg = demoapp.DefaultConfig()
	cfg.Timeout = -time.Second
	if _, err := demoapp.New(cfg, demoapp.NewUpstream(demoapp.UpstreamConfig{}), nil); err == nil {
		t.Error("New accepted a negative timeout")
	}
}

// The scenario of the end-to-end tests, in process: what they look for in
// Jaeger and Prometheus is what the pipeline records.
func TestServiceScenario(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := demoapp.NewUpstream(demoapp.UpstreamConfig{})
		s, rec, reader := newService(t, up)
		ctx := context.Background()

		up.FailNext(2)
		if _, err := s.Fetch(ctx); err != nil {
			t.Fatalf("two failures then a success: %v", err)
		}
		up.SetDown(true)
		if _, err := s.Fetch(ctx); !errors.Is(err, retry.ErrExhausted) || !errors.Is(err, demoapp.ErrUnavailable) {
			t.Fatalf("outage: %v, want exhausted retries of the upstream's error", err)
		}
		if _, err := s.Fetch(ctx); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("after the outage tripped the breaker: %v, want a rejection", err)
		}

		var events [][]string
		attempts := 0
		for _, span := range rec.Ended() {
			switch span.Name() {
			case "svc attempt":
				attempts++
			case "svc execute":
				var names []string
				for _, e := range span.Events() {
					if e.Name != "exception" {
						names = append(names, e.Name)
					}
				}
				events = append(events, names)
			}
		}
		want := [][]string{
			{"retry", "retry"},
			{"retry", "retry", "breaker.state_change", "retry.exhausted"},
			{"breaker.rejected"},
		}
		if !slices.EqualFunc(events, want, slices.Equal) {
			t.Errorf("execution events %v, want %v", events, want)
		}
		if attempts != 6 {
			t.Errorf("%d attempts, want 6", attempts)
		}

		var rm metricdata.ResourceMetrics
		if err := reader.Collect(ctx, &rm); err != nil {
			t.Fatal(err)
		}
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
		for name, v := range map[string]int64{"demo.retry.attempts": 4, "demo.retry.exhausted": 1, "demo.circuit_breaker.state_changes": 1, policy.MetricEvents: 7} {
			if counters[name] != v {
				t.Errorf("%s = %d, want %d", name, counters[name], v)
			}
		}
	})
}

func TestServiceHTTP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := demoapp.NewUpstream(demoapp.UpstreamConfig{})
		s, _, _ := newService(t, up)
		mux := http.NewServeMux()
		s.Register(mux)
		get := func(path string) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			return rec
		}
		if r := get("/"); r.Code != http.StatusOK || !strings.HasPrefix(r.Body.String(), "answer #1") {
			t.Errorf("GET / = %d %q, want 200 and an answer", r.Code, r.Body)
		}
		up.SetDown(true)
		if r := get("/"); r.Code != http.StatusBadGateway {
			t.Errorf("GET / during an outage = %d %q, want 502", r.Code, r.Body)
		}
		if r := get("/"); r.Code != http.StatusServiceUnavailable || !strings.Contains(r.Body.String(), "open") {
			t.Errorf("GET / with the breaker open = %d %q, want 503", r.Code, r.Body)
		}

		r := get("/health")
		var report struct {
			Status string `json:"status"`
			Checks map[string][]struct {
				Status string `json:"status"`
			} `json:"checks"`
		}
		if err := json.Unmarshal(r.Body.Bytes(), &report); err != nil {
			t.Fatalf("GET /health: %v: %s", err, r.Body)
		}
		if report.Status != "warn" || report.Checks["breaker"][0].Status != "warn" {
			t.Errorf("health with the breaker open = %s", r.Body)
		}
		if r := get("/nowhere"); r.Code != http.StatusNotFound {
			t.Errorf("GET /nowhere = %d", r.Code)
		}
	})
}
