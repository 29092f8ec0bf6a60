//go:build e2e

package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/examples/internal/demoapp"
	"github.com/aragora/resilience/otelhooks"
	"github.com/aragora/resilience/retry"
	"github.com/aragora/resilience/slo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
)

// run is what the scenario left behind to look for in the backends.
type run struct {
	pipeline string // unique per run, so that earlier runs' data cannot pass for this one's
	retried  string // trace IDs
	failed   string
	rejected string
}

// TestEndToEnd runs the demo's pipeline against the real backends: three
// executions, one that succeeds on its third attempt, one that exhausts its
// retries and trips the breaker, one that the open breaker rejects and the
// fallback answers from the cache; then reads them back from Jaeger and
// Prometheus.
func TestEndToEnd(t *testing.T) {
	requireBackends(t)
	r := scenario(t)
	t.Run("Jaeger has the traces", func(t *testing.T) { checkTraces(t, r) })
	t.Run("Prometheus has the metrics", func(t *testing.T) { checkMetrics(t, r) })
	t.Run("Prometheus exemplars lead to Jaeger traces", func(t *testing.T) { checkExemplars(t, r) })
}

// scenario sets the SDK up as an application would, serves /metrics where
// Prometheus scrapes, and runs the three executions.
func scenario(t *testing.T) run {
	var id [4]byte
	_, _ = rand.Read(id[:])
	r := run{pipeline: "e2e-" + hex.EncodeToString(id[:])}
	t.Logf("pipeline %s", r.pipeline)

	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlpEndpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_SERVICE_NAME", "resilience-e2e")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100") // ms: export spans soon, rather than every 5s

	mux := http.NewServeMux()
	shutdown, err := otelhooks.Setup(context.Background(), otelhooks.WithServeMux(mux))
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() {
		if err := shutdown(context.Background()); err != nil {
			t.Errorf("telemetry shutdown: %v", err)
		}
	})
	cb, err := otelhooks.NewMetricsCallbacks("e2e")
	if err != nil {
		t.Fatal(err)
	}
	up := demoapp.NewUpstream(demoapp.UpstreamConfig{})
	cfg := demoapp.DefaultConfig()
	cfg.Name = r.pipeline
	cfg.Retry = retry.Config{MaxRetries: 2, BaseDelay: 20 * time.Millisecond, Jitter: retry.NoJitter}
	cfg.Breaker = breaker.Config{FailureThreshold: 3, SuccessThreshold: 1, Cooldown: 10 * time.Minute}
	// Loose enough that two bad calls in three raise no SLO alert, which would
	// add events of its own.
	cfg.Objective = slo.Objective{Availability: 0.3, Window: time.Hour}
	svc, err := demoapp.New(cfg, up, cb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)

	// Serve /metrics once the service is built: health.NewChecker registers
	// its gauge's callback before the checker is complete, and a scrape in
	// between would find it half made.
	lis, err := net.Listen("tcp", metricsAddr)
	if err != nil {
		t.Fatalf("cannot serve /metrics where Prometheus scrapes it: %v (is another end-to-end run going on?)", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })

	tracer := otel.Tracer("github.com/aragora/resilience/examples/e2e")
	call := func(name string) (traceID string, a demoapp.Answer, err error) {
		ctx, span := tracer.Start(context.Background(), "e2e "+name)
		defer span.End()
		a, err = svc.Fetch(ctx)
		return span.SpanContext().TraceID().String(), a, err
	}

	var a demoapp.Answer
	up.FailNext(2)
	r.retried, a, err = call("retried")
	require.NoError(t, err, "two failures then a success")
	require.False(t, a.Cached)
	up.SetDown(true)
	r.failed, _, err = call("failed")
	require.ErrorIs(t, err, demoapp.ErrUnavailable, "three failures: the upstream's last answer")
	require.Equal(t, breaker.Open, svc.Breaker.State(), "breaker after three failures")
	r.rejected, a, err = call("rejected")
	require.NoError(t, err, "call to an open breaker: answered from the cache")
	require.True(t, a.Cached, "call to an open breaker: answered from the cache")
	return r
}

func checkTraces(t *testing.T, r run) {
	execName, attemptName := r.pipeline+" execute", r.pipeline+" attempt"
	fbExecName, fbAttemptName := r.pipeline+"-fallback execute", r.pipeline+"-fallback attempt"
	tests := []struct {
		name      string
		traceID   string
		attempts  int      // attempt spans, each with one HTTP GET client span
		failed    []int    // attempts with error status
		events    []string // events of the execution span, in order
		delays    []float64
		errored   bool     // execution span has error status
		fbEvents  []string // events of the fallback pipeline's execution span
		fbErrored bool     // the fallback pipeline's execution span has error status
	}{
		{"retried", r.retried, 3, []int{1, 2}, []string{"retry", "retry"}, []float64{0.02, 0.04}, false, nil, false},
		{"failed", r.failed, 3, []int{1, 2, 3}, []string{"retry", "retry", "breaker.state_change", "retry.exhausted"}, []float64{0.02, 0.04}, true, nil, true},
		{"rejected", r.rejected, 0, nil, []string{"breaker.rejected"}, nil, true, []string{"fallback"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr jaegerTrace
			eventually(t, 20*time.Second, "Jaeger has trace "+tt.traceID, func(ctx context.Context) (err error) {
				tr, err = getTrace(ctx, tt.traceID, 4+2*tt.attempts) // root, the two pipelines' spans, attempts, HTTP GETs
				return err
			})
			var root, fbExec, fbAttempt, exec jaegerSpan
			var attempts, gets []jaegerSpan
			for _, s := range tr.Spans {
				switch s.OperationName {
				case "e2e " + tt.name:
					root = s
				case fbExecName:
					fbExec = s
				case fbAttemptName:
					fbAttempt = s
				case execName:
					exec = s
				case attemptName:
					attempts = append(attempts, s)
				case "HTTP GET":
					gets = append(gets, s)
				default:
					t.Errorf("unexpected span %q", s.OperationName)
				}
			}
			if exec.SpanID == "" || root.SpanID == "" || fbExec.SpanID == "" || fbAttempt.SpanID == "" {
				t.Fatalf("trace lacks the execution spans %q and %q, its attempt, or its caller's span: %+v", fbExecName, execName, tr.Spans)
			}
			assert.Equal(t, root.SpanID, fbExec.parent(), "the fallback's execution span is a child of the caller's span")
			assert.Equal(t, fbExec.SpanID, fbAttempt.parent(), "the fallback's attempt span is a child of its execution span")
			assert.Equal(t, fbAttempt.SpanID, exec.parent(), "the execution span is a child of the fallback's attempt")
			_, fbErr := fbExec.tag("error")
			assert.Equal(t, tt.fbErrored, fbErr, "the fallback's execution span has error status")
			var fbEvents []string
			for _, e := range fbExec.events() {
				if e["event"] != "exception" {
					fbEvents = append(fbEvents, fmt.Sprint(e["event"]))
				}
			}
			assert.Equal(t, tt.fbEvents, fbEvents, "events of the fallback's execution span")

			// One HTTP client span under each attempt, with the attempt's status.
			require.Len(t, gets, tt.attempts, "HTTP GET client spans")
			underAttempt := map[string]int{}
			for _, g := range gets {
				underAttempt[g.parent()]++
				if kind, _ := g.tag("span.kind"); kind != "client" {
					t.Errorf("HTTP GET span.kind = %v, want client", kind)
				}
			}
			for _, a := range attempts {
				assert.Equal(t, 1, underAttempt[a.SpanID], "HTTP GET spans under attempt span %s", a.SpanID)
				n, _ := a.tag("resilience.attempt")
				code, _ := a.tag("http.response.status_code")
				want := 200.0
				if slices.Contains(tt.failed, int(n.(float64))) {
					want = 503
				}
				assert.Equal(t, want, code, "attempt %v: http.response.status_code", n)
			}
			if _, isErr := exec.tag("error"); isErr != tt.errored {
				t.Errorf("execution span error = %v, want %v", isErr, tt.errored)
			}

			if len(attempts) != tt.attempts {
				t.Fatalf("%d attempt spans, want %d", len(attempts), tt.attempts)
			}
			var numbers []int
			for _, a := range attempts {
				if a.parent() != exec.SpanID {
					t.Errorf("attempt span %s is not a child of the execution span", a.SpanID)
				}
				n, _ := a.tag("resilience.attempt")
				num := int(n.(float64))
				numbers = append(numbers, num)
				status, _ := a.tag("otel.status_code")
				if wantErr := slices.Contains(tt.failed, num); (status == "ERROR") != wantErr {
					t.Errorf("attempt %d: otel.status_code = %v, want error: %v", num, status, wantErr)
				}
				if et, _ := a.tag("error.type"); slices.Contains(tt.failed, num) && et != "503" {
					t.Errorf("attempt %d: error.type = %v, want 503", num, et)
				}
			}
			slices.Sort(numbers)
			if want := []int{1, 2, 3}[:tt.attempts]; !slices.Equal(numbers, want) {
				t.Errorf("attempt numbers %v, want %v", numbers, want)
			}

			var names []string
			var delays []float64
			for _, e := range exec.events() {
				names = append(names, fmt.Sprint(e["event"]))
				if e["event"] == "retry" {
					d, _ := e["resilience.delay"].(float64)
					delays = append(delays, d)
					if a, _ := e["resilience.attempt"].(float64); int(a) != len(delays)+1 {
						t.Errorf("retry event %d announces attempt %v, want %d", len(delays), e["resilience.attempt"], len(delays)+1)
					}
				}
				if e["event"] == "breaker.state_change" && (e["resilience.state.from"] != "closed" || e["resilience.state.to"] != "open") {
					t.Errorf("breaker change %v → %v, want closed → open", e["resilience.state.from"], e["resilience.state.to"])
				}
			}
			if !slices.Equal(names, tt.events) {
				t.Errorf("execution events %v, want %v", names, tt.events)
			}
			if !slices.Equal(delays, tt.delays) {
				t.Errorf("retry delays %v s, want %v s", delays, tt.delays)
			}
		})
	}
}

func checkMetrics(t *testing.T, r run) {
	sel := fmt.Sprintf(`job="resilience-e2e",pipeline=%q`, r.pipeline)
	tests := []struct {
		query string
		label string           // the label that tells the series apart
		want  map[string]int64 // its values
	}{
		{`resilience_execution_duration_seconds_count{` + sel + `}`, "outcome",
			map[string]int64{"success": 1, "failure": 1, "rejected": 1}},
		{`resilience_attempt_duration_seconds_count{` + sel + `}`, "outcome",
			map[string]int64{"success": 1, "failure": 5}},
		{`resilience_events_total{` + sel + `}`, "event",
			map[string]int64{"retry": 4, "retry.exhausted": 1, "breaker.state_change": 1, "breaker.rejected": 1}},
		// The fallback's pipeline: the rejected call answered from the cache.
		{fmt.Sprintf(`resilience_events_total{job="resilience-e2e",pipeline="%s-fallback"}`, r.pipeline), "event",
			map[string]int64{"fallback": 1}},
		{fmt.Sprintf(`resilience_execution_duration_seconds_count{job="resilience-e2e",pipeline="%s-fallback"}`, r.pipeline), "outcome",
			map[string]int64{"success": 2, "failure": 1}},
		// The breaker's own gauge (unit {state}: no suffix).
		{fmt.Sprintf(`resilience_breaker_state{job="resilience-e2e",breaker=%q}`, r.pipeline), "state",
			map[string]int64{"closed": 0, "open": 1, "half-open": 0, "forced-open": 0, "disabled": 0}},
		// The metric callbacks, attached to the same policies.
		{fmt.Sprintf(`e2e_retry_attempts_total{job="resilience-e2e",operation=%q}`, r.pipeline), "operation",
			map[string]int64{r.pipeline: 4}},
		{fmt.Sprintf(`e2e_retry_exhausted_total{job="resilience-e2e",operation=%q}`, r.pipeline), "operation",
			map[string]int64{r.pipeline: 1}},
		{fmt.Sprintf(`e2e_circuit_breaker_state{job="resilience-e2e",breaker=%q}`, r.pipeline), "state",
			map[string]int64{"closed": 0, "open": 1}},
	}
	for _, tt := range tests {
		eventually(t, 20*time.Second, "Prometheus has "+tt.query, func(ctx context.Context) error {
			samples, err := promQuery(ctx, tt.query)
			if err != nil {
				return err
			}
			got := map[string]int64{}
			for _, s := range samples {
				v, err := strconv.ParseFloat(s.value(), 64)
				if err != nil {
					return err
				}
				got[s.Metric[tt.label]] = int64(v)
			}
			if len(got) != len(tt.want) {
				return fmt.Errorf("%v, want %v%s", got, tt.want, scrapeHealth(ctx))
			}
			for k, v := range tt.want {
				if gv, ok := got[k]; !ok || gv != v {
					return fmt.Errorf("%v, want %v", got, tt.want)
				}
			}
			return nil
		})
	}
}

// scrapeHealth says how Prometheus's scrapes of the tests' /metrics go, to
// explain data that does not arrive.
func scrapeHealth(ctx context.Context) string {
	samples, err := promQuery(ctx, `up{job="resilience-e2e"}`)
	if err != nil || len(samples) == 0 {
		return " (Prometheus has no scrape of the tests' /metrics: is it the one make backends-up starts?)"
	}
	return fmt.Sprintf(" (up{job=\"resilience-e2e\"} = %s)", samples[0].value())
}

func checkExemplars(t *testing.T, r run) {
	ours := []string{r.retried, r.failed, r.rejected}
	for _, series := range []string{
		fmt.Sprintf(`resilience_execution_duration_seconds_bucket{job="resilience-e2e",pipeline=%q}`, r.pipeline),
		fmt.Sprintf(`resilience_events_total{job="resilience-e2e",pipeline=%q,event="retry"}`, r.pipeline),
	} {
		var traceIDs []string
		eventually(t, 20*time.Second, "Prometheus has exemplars of "+series, func(ctx context.Context) error {
			exemplars, err := promExemplars(ctx, series)
			if err != nil {
				return err
			}
			traceIDs = traceIDs[:0]
			for _, e := range exemplars {
				if id := e["trace_id"]; id != "" && !slices.Contains(traceIDs, id) {
					traceIDs = append(traceIDs, id)
				}
			}
			if len(traceIDs) == 0 {
				return fmt.Errorf("no exemplar with a trace_id among %v", exemplars)
			}
			return nil
		})
		for _, id := range traceIDs {
			if !slices.Contains(ours, id) {
				t.Errorf("exemplar of %s has trace %s, not one of this run's %v", series, id, ours)
				continue
			}
			eventually(t, 10*time.Second, "Jaeger returns exemplar trace "+id, func(ctx context.Context) error {
				_, err := getTrace(ctx, id, 1)
				return err
			})
		}
	}
}
