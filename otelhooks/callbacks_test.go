package otelhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aragora/resilience/otelhooks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
)

// newCallbacks returns callbacks recording into a manual reader.
func newCallbacks(t *testing.T, namespace string) (*otelhooks.MetricsCallbacks, *sdkmetric.ManualReader) {
	t.Helper()
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	m, err := otelhooks.NewMetricsCallbacks(namespace, otelhooks.WithMeterProvider(mp))
	if err != nil {
		t.Fatalf("NewMetricsCallbacks(%q): %v", namespace, err)
	}
	return m, r
}

// collect returns the metrics of the callbacks' scope, by name.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelhooks.ScopeName {
			t.Errorf("scope = %q, want %q", sm.Scope.Name, otelhooks.ScopeName)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

func sum(points ...metricdata.DataPoint[int64]) metricdata.Aggregation {
	return metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: true, DataPoints: points}
}

func gauge(points ...metricdata.DataPoint[int64]) metricdata.Aggregation {
	return metricdata.Gauge[int64]{DataPoints: points}
}

func point(v int64, kv ...attribute.KeyValue) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(kv...), Value: v}
}

func TestNewMetricsCallbacksRejectsBadNamespaces(t *testing.T) {
	for _, ns := range []string{"", "1st", "has space", "semi;colon", "_under", strings.Repeat("a", 65), "resilience",
		"resilience.", "resilience-", "resilience_", "resilience.-_"} {
		t.Run(ns, func(t *testing.T) {
			m, err := otelhooks.NewMetricsCallbacks(ns)
			if err == nil || m != nil {
				t.Fatalf("NewMetricsCallbacks(%q) = %v, %v; want nil and an error", ns, m, err)
			}
			if !strings.Contains(err.Error(), "namespace") {
				t.Errorf("error %q does not name the namespace", err)
			}
		})
	}
}

func TestNewMetricsCallbacksAcceptsGoodNamespaces(t *testing.T) {
	for _, ns := range []string{"aragora", "a", "my_app.v2", "team-x", strings.Repeat("a", 64)} {
		t.Run(ns, func(t *testing.T) {
			if _, err := otelhooks.NewMetricsCallbacks(ns, nil); err != nil {
				t.Fatalf("NewMetricsCallbacks(%q): %v", ns, err)
			}
		})
	}
}

// Each callback records the series its name promises, under the namespace.
func TestCallbacksRecordSeries(t *testing.T) {
	from, to := otelhooks.AttrFrom, otelhooks.AttrTo
	op := otelhooks.AttrOperation.String("fetch")
	tests := []struct {
		name string
		call func(m *otelhooks.MetricsCallbacks)
		want []metricdata.Metrics
		also []string // recorded too, checked by another test
	}{
		{
			name: "CircuitBreakerStateChanged",
			call: func(m *otelhooks.MetricsCallbacks) {
				m.CircuitBreakerStateChanged("db", "closed", "open")
				m.CircuitBreakerStateChanged("db", "open", "half_open")
			},
			want: []metricdata.Metrics{
				{Name: "aragora.circuit_breaker.state_changes", Unit: "{change}", Description: "State changes of circuit breakers.",
					Data: sum(
						point(1, otelhooks.AttrBreaker.String("db"), from.String("closed"), to.String("open")),
						point(1, otelhooks.AttrBreaker.String("db"), from.String("open"), to.String("half_open")))},
				{Name: "aragora.circuit_breaker.state",
					Description: "Current state of each circuit breaker: 1 for the state it is in, 0 for the others it has been in.",
					Data: gauge(
						point(0, otelhooks.AttrBreaker.String("db"), otelhooks.AttrState.String("closed")),
						point(0, otelhooks.AttrBreaker.String("db"), otelhooks.AttrState.String("open")),
						point(1, otelhooks.AttrBreaker.String("db"), otelhooks.AttrState.String("half_open")))},
			},
		},
		{
			name: "RetryAttempt",
			call: func(m *otelhooks.MetricsCallbacks) {
				m.RetryAttempt("fetch", 1, 100*time.Millisecond)
				m.RetryAttempt("fetch", 2, 200*time.Millisecond)
			},
			want: []metricdata.Metrics{
				{Name: "aragora.retry.attempts", Unit: "{retry}", Description: "Retries scheduled after a failed attempt.",
					Data: sum(point(2, op))},
			},
			also: []string{"aragora.retry.delay"},
		},
		{
			name: "RetryExhausted",
			call: func(m *otelhooks.MetricsCallbacks) { m.RetryExhausted("fetch", 3) },
			want: []metricdata.Metrics{
				{Name: "aragora.retry.exhausted", Unit: "{exhaustion}", Description: "Executions that failed after their last allowed attempt.",
					Data: sum(point(1, op))},
			},
		},
		{
			name: "TimeoutOccurred",
			call: func(m *otelhooks.MetricsCallbacks) {
				m.TimeoutOccurred("fetch", time.Second)
				m.TimeoutOccurred("fetch", time.Second)
				m.TimeoutOccurred("fetch", time.Second)
			},
			want: []metricdata.Metrics{
				{Name: "aragora.timeouts", Unit: "{timeout}", Description: "Time limits that ran out.",
					Data: sum(point(3, op))},
			},
			also: []string{"aragora.timeout.duration"},
		},
		{
			name: "HealthStatusChanged",
			call: func(m *otelhooks.MetricsCallbacks) { m.HealthStatusChanged("api/db", "healthy", "unhealthy") },
			want: []metricdata.Metrics{
				{Name: "aragora.health.status_changes", Unit: "{change}", Description: "Status changes of health checks.",
					Data: sum(point(1, otelhooks.AttrCheck.String("api/db"), from.String("healthy"), to.String("unhealthy")))},
				{Name: "aragora.health.status",
					Description: "Current status of each health check: 1 for the status it has, 0 for the others it has had.",
					Data: gauge(
						point(0, otelhooks.AttrCheck.String("api/db"), otelhooks.AttrStatus.String("healthy")),
						point(1, otelhooks.AttrCheck.String("api/db"), otelhooks.AttrStatus.String("unhealthy")))},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, r := newCallbacks(t, "aragora")
			tt.call(m)
			got := collect(t, r)
			for _, want := range tt.want {
				g, ok := got[want.Name]
				if !ok {
					t.Fatalf("no metric %q; have %v", want.Name, keys(got))
				}
				metricdatatest.AssertEqual(t, want, g, metricdatatest.IgnoreTimestamp())
				delete(got, want.Name)
			}
			for _, name := range tt.also {
				if _, ok := got[name]; !ok {
					t.Errorf("no metric %q", name)
				}
				delete(got, name)
			}
			if len(got) != 0 {
				t.Errorf("%s recorded more than promised: %v", tt.name, keys(got))
			}
		})
	}
}

func TestRetryAttemptRecordsDelays(t *testing.T) {
	m, r := newCallbacks(t, "svc")
	m.RetryAttempt("fetch", 1, 100*time.Millisecond)
	m.RetryAttempt("fetch", 2, 400*time.Millisecond)
	m.RetryAttempt("other", 1, 2*time.Second)
	h, ok := collect(t, r)["svc.retry.delay"].Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("svc.retry.delay is not a float histogram")
	}
	got := map[string][2]float64{} // operation → count, sum
	for _, dp := range h.DataPoints {
		v, _ := dp.Attributes.Value(otelhooks.AttrOperation)
		got[v.AsString()] = [2]float64{float64(dp.Count), dp.Sum}
	}
	want := map[string][2]float64{"fetch": {2, 0.5}, "other": {1, 2}}
	for k, w := range want {
		if g := got[k]; g[0] != w[0] || g[1] < w[1]-1e-9 || g[1] > w[1]+1e-9 {
			t.Errorf("delays of %s: count, sum = %v, want %v", k, g, w)
		}
	}
}

// The state gauge shows exactly one current state per breaker, the last one
// heard, even when changes are heard out of order.
func TestStateGaugeFollowsTheLastChangeHeard(t *testing.T) {
	tests := []struct {
		name    string
		changes [][2]string
		want    map[string]int64
	}{
		{"one change", [][2]string{{"closed", "open"}}, map[string]int64{"closed": 0, "open": 1}},
		{"full cycle", [][2]string{{"closed", "open"}, {"open", "half_open"}, {"half_open", "closed"}},
			map[string]int64{"closed": 1, "open": 0, "half_open": 0}},
		{"out of order", [][2]string{{"open", "half_open"}, {"closed", "open"}},
			map[string]int64{"closed": 0, "open": 1, "half_open": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, r := newCallbacks(t, "ns")
			for _, c := range tt.changes {
				m.CircuitBreakerStateChanged("b", c[0], c[1])
			}
			m.CircuitBreakerStateChanged("other", "closed", "open") // independent
			g := collect(t, r)["ns.circuit_breaker.state"].Data.(metricdata.Gauge[int64])
			got := map[string]int64{}
			for _, dp := range g.DataPoints {
				if b, _ := dp.Attributes.Value(otelhooks.AttrBreaker); b.AsString() == "b" {
					s, _ := dp.Attributes.Value(otelhooks.AttrState)
					got[s.AsString()] = dp.Value
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("states = %v, want %v", got, tt.want)
			}
			for s, v := range tt.want {
				if got[s] != v {
					t.Errorf("state %s = %d, want %d (all: %v)", s, got[s], v, got)
				}
			}
		})
	}
}

func TestCallbacksAreSafeForConcurrentUse(t *testing.T) {
	m, r := newCallbacks(t, "ns")
	const goroutines, calls = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				m.RetryAttempt("op", i, time.Millisecond)
				m.RetryExhausted("op", i)
				m.TimeoutOccurred("op", time.Second)
				if g%2 == 0 {
					m.CircuitBreakerStateChanged("b", "closed", "open")
				} else {
					m.CircuitBreakerStateChanged("b", "open", "closed")
				}
				m.HealthStatusChanged("c", "healthy", "degraded")
			}
		})
	}
	wg.Wait()
	got := collect(t, r)
	for _, name := range []string{"ns.retry.attempts", "ns.retry.exhausted", "ns.timeouts", "ns.health.status_changes"} {
		s := got[name].Data.(metricdata.Sum[int64])
		if len(s.DataPoints) != 1 || s.DataPoints[0].Value != goroutines*calls {
			t.Errorf("%s = %+v, want one point of %d", name, s.DataPoints, goroutines*calls)
		}
	}
	ones := 0
	for _, dp := range got["ns.circuit_breaker.state"].Data.(metricdata.Gauge[int64]).DataPoints {
		ones += int(dp.Value)
	}
	if ones != 1 {
		t.Errorf("breaker b is in %d states at once, want 1", ones)
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// The namespaces the Prometheus exporter turns into "resilience", the
// library's own prefix, are refused with it: "resilience." and "resilience-"
// would serve aragora's health gauge and the health package's under one name.
func TestNewMetricsCallbacksRefusesTheLibrarysPrometheusName(t *testing.T) {
	for _, ns := range []string{"resilience", "resilience.", "resilience-", "resilience_", "resilience.-_"} {
		t.Run(ns, func(t *testing.T) {
			_, err := otelhooks.NewMetricsCallbacks(ns)
			require.Error(t, err)
			assert.Equal(t, fmt.Sprintf(`otelhooks: namespace %q is the library's own in Prometheus, "resilience"; choose your service's`, ns), err.Error())
		})
	}
	for _, ns := range []string{"resilience2", "resilience.kb", "my-resilience", "Resilience"} {
		t.Run(ns, func(t *testing.T) {
			_, err := otelhooks.NewMetricsCallbacks(ns)
			assert.NoError(t, err)
		})
	}
}

// TimeoutOccurred observes the limit that ran out in a histogram in seconds,
// besides counting it.
func TestTimeoutOccurredRecordsTheLimit(t *testing.T) {
	m, r := newCallbacks(t, "aragora")
	m.TimeoutOccurred("search", 2*time.Second)
	m.TimeoutOccurred("search", 500*time.Millisecond)
	m.TimeoutOccurred("index", 30*time.Second)
	got, ok := collect(t, r)["aragora.timeout.duration"]
	require.True(t, ok, "no aragora.timeout.duration")
	assert.Equal(t, "s", got.Unit)
	assert.Equal(t, "Time limits that ran out, by their length.", got.Description)
	h, ok := got.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "aragora.timeout.duration is a %T, not a float histogram", got.Data)
	byOp := map[string]metricdata.HistogramDataPoint[float64]{}
	for _, dp := range h.DataPoints {
		v, _ := dp.Attributes.Value(otelhooks.AttrOperation)
		byOp[v.AsString()] = dp
	}
	require.Len(t, byOp, 2)
	assert.Equal(t, uint64(2), byOp["search"].Count)
	assert.InDelta(t, 2.5, byOp["search"].Sum, 1e-9)
	assert.Equal(t, uint64(1), byOp["index"].Count)
	assert.InDelta(t, 30.0, byOp["index"].Sum, 1e-9)
	// 30s falls in a bucket of its own, not in the overflow.
	assert.Contains(t, byOp["index"].Bounds, 30.0)
}

// The Prometheus names of the callbacks' instruments, exactly as scraped:
// '.' and '-' become '_', counters end in _total, histograms in seconds end
// in _seconds.
func TestCallbacksPrometheusNames(t *testing.T) {
	mux := http.NewServeMux()
	setup(t, otelhooks.WithServeMux(mux))
	cb, err := otelhooks.NewMetricsCallbacks("aragora-kb")
	require.NoError(t, err)
	cb.CircuitBreakerStateChanged("db", "closed", "open")
	cb.RetryAttempt("get", 1, time.Second)
	cb.RetryExhausted("get", 3)
	cb.TimeoutOccurred("get", time.Second)
	cb.HealthStatusChanged("api/db", "healthy", "unhealthy")

	var got []string
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (aragora\S*) (\S+)$`).FindAllStringSubmatch(scrape(t, mux, "text/plain"), -1) {
		got = append(got, m[1]+" "+m[2])
	}
	assert.ElementsMatch(t, []string{
		"aragora_kb_circuit_breaker_state_changes_total counter",
		"aragora_kb_circuit_breaker_state gauge",
		"aragora_kb_retry_attempts_total counter",
		"aragora_kb_retry_delay_seconds histogram",
		"aragora_kb_retry_exhausted_total counter",
		"aragora_kb_timeouts_total counter",
		"aragora_kb_timeout_duration_seconds histogram",
		"aragora_kb_health_status_changes_total counter",
		"aragora_kb_health_status gauge",
	}, got)
}

// Namespaces that differ only in '.', '-' and '_' map to one Prometheus name,
// as NewMetricsCallbacks documents: callbacks under "aragora-kb" and
// "aragora_kb" in one program serve one series, not two.
func TestNamespacesThatPrometheusMergesShareOneName(t *testing.T) {
	mux := http.NewServeMux()
	setup(t, otelhooks.WithServeMux(mux))
	for _, ns := range []string{"aragora-kb", "aragora_kb", "aragora.kb"} {
		cb, err := otelhooks.NewMetricsCallbacks(ns)
		require.NoError(t, err)
		cb.TimeoutOccurred("get", time.Second)
	}
	series := regexp.MustCompile(`(?m)^aragora_kb_timeouts_total\{.*operation="get".*\} (\d+)$`).FindAllStringSubmatch(scrape(t, mux, "text/plain"), -1)
	require.Len(t, series, 1, "one Prometheus series for the three namespaces")
	assert.Equal(t, "1", series[0][1], "the exporter serves one namespace's count, not the sum")
}
