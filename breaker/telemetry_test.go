package breaker_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/internal/oteltest"
	"github.com/aragora/resilience/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// gauge reads the resilience.breaker.state points of the breaker named name:
// state → value.
func gauge(t *testing.T, r sdkmetric.Reader, name string) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != breaker.MetricState {
				continue
			}
			if sm.Scope.Name != policy.ScopeName || sm.Scope.Version != policy.Version || m.Unit != "{state}" {
				t.Fatalf("gauge in scope %+v with unit %q", sm.Scope, m.Unit)
			}
			for _, dp := range m.Data.(metricdata.Gauge[int64]).DataPoints {
				if b, _ := dp.Attributes.Value("breaker"); b.AsString() == name {
					s, _ := dp.Attributes.Value("state")
					if _, dup := got[s.AsString()]; dup {
						t.Fatalf("state %s of %s observed twice", s.AsString(), name)
					}
					got[s.AsString()] = dp.Value
				}
			}
		}
	}
	return got
}

func wantGauge(t *testing.T, r sdkmetric.Reader, name string, cur breaker.State) {
	t.Helper()
	got := gauge(t, r, name)
	want := map[string]int64{"closed": 0, "open": 0, "half-open": 0, "forced-open": 0, "disabled": 0}
	want[cur.String()] = 1
	if len(got) != len(want) {
		t.Fatalf("gauge of %s = %v, want %v", name, got, want)
	}
	for s, v := range want {
		if got[s] != v {
			t.Fatalf("gauge of %s = %v, want %v", name, got, want)
		}
	}
}

func TestStateGaugeIsRightAtEveryCollection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer mp.Shutdown(context.Background())
		b, err := breaker.New("payments", breaker.Config{FailureThreshold: 1, SuccessThreshold: 1}, breaker.WithMeterProvider(mp))
		if err != nil {
			t.Fatal(err)
		}
		other, _ := breaker.New("search", breaker.Config{}, breaker.WithMeterProvider(mp))
		wantGauge(t, reader, "payments", breaker.Closed)
		call(t, b, fail)
		wantGauge(t, reader, "payments", breaker.Open)
		time.Sleep(time.Minute) // no call: the cooldown passes all the same
		wantGauge(t, reader, "payments", breaker.HalfOpen)
		call(t, b, succeed)
		wantGauge(t, reader, "payments", breaker.Closed)
		b.ForceOpen()
		wantGauge(t, reader, "payments", breaker.ForcedOpen)
		b.Disable()
		wantGauge(t, reader, "payments", breaker.Disabled)
		wantGauge(t, reader, "search", breaker.Closed)
		runtime.KeepAlive(other)
	})
}

func TestStateGaugeOfABreakerMadeBeforeTheSDK(t *testing.T) {
	// The otel package's global provider hands over to the first SDK
	// installed, once per process: the test needs a process of its own, or
	// it would pass only the first time it runs (go test -count=2).
	const fresh = "BREAKER_TEST_FRESH_PROCESS"
	if os.Getenv(fresh) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), fresh+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
			t.Fatalf("in a process of its own: %v\n%s", err, out)
		}
		return
	}
	global := otel.GetMeterProvider()
	t.Cleanup(func() { otel.SetMeterProvider(global) })
	b, err := breaker.New("made-before-the-sdk", breaker.Config{FailureThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	otel.SetMeterProvider(mp)
	wantGauge(t, reader, "made-before-the-sdk", breaker.Closed)
	call(t, b, fail)
	wantGauge(t, reader, "made-before-the-sdk", breaker.Open)
	after, _ := breaker.New("made-after-the-sdk", breaker.Config{})
	wantGauge(t, reader, "made-after-the-sdk", breaker.Closed)
	runtime.KeepAlive(after)
}

func TestDiscardedBreakersLeaveTheGauge(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	kept, _ := breaker.New("kept", breaker.Config{}, breaker.WithMeterProvider(mp))
	func() {
		breaker.New("discarded", breaker.Config{}, breaker.WithMeterProvider(mp))
	}()
	runtime.GC()
	if got := gauge(t, reader, "discarded"); len(got) != 0 {
		t.Fatalf("a collected breaker is still observed: %v", got)
	}
	wantGauge(t, reader, "kept", breaker.Closed)
	runtime.KeepAlive(kept)
}

func TestPipelineReportsRejectionsAndStateChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spans := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer tp.Shutdown(context.Background())
		defer mp.Shutdown(context.Background())

		b := newBreaker(t, breaker.Config{FailureThreshold: 1, Cooldown: 30 * time.Second, HalfOpenMaxRequests: 1})
		p := policy.MustNew("api", b).With(policy.WithTracerProvider(tp), policy.WithMeterProvider(mp))
		ctx := context.Background()

		p.Execute(ctx, fail)         // trips
		time.Sleep(10 * time.Second) // 20s to the trial
		p.Execute(ctx, succeed)      // rejected: open
		time.Sleep(20 * time.Second) // the trial is due
		release := make(chan struct{})
		trialDone := make(chan struct{})
		go func() {
			defer close(trialDone)
			p.Execute(ctx, func(context.Context) error { <-release; return nil })
		}()
		synctest.Wait()         // the trial runs
		p.Execute(ctx, succeed) // rejected: half-open is full
		close(release)
		<-trialDone

		type event struct {
			name  string
			attrs map[attribute.Key]attribute.Value
		}
		var events []event
		for _, s := range spans.Ended() {
			if s.Name() != "api execute" {
				continue
			}
			for _, e := range s.Events() {
				m := map[attribute.Key]attribute.Value{}
				for _, kv := range e.Attributes {
					m[kv.Key] = kv.Value
				}
				events = append(events, event{e.Name, m})
			}
		}
		want := []struct {
			name, from, to, reason, errorType string
			delay                             float64
		}{
			{name: "breaker.state_change", from: "closed", to: "open"},
			{name: "breaker.rejected", reason: "open", errorType: "breaker_open", delay: 20},
			{name: "breaker.rejected", reason: "half_open_full", errorType: "breaker_half_open_full"},
			{name: "breaker.state_change", from: "open", to: "half-open"},
		}
		if len(events) != len(want) {
			t.Fatalf("events %+v, want %d", events, len(want))
		}
		// The trial's span ends last: its event, at the admission, comes last.
		for i, w := range want {
			e := events[i]
			if e.name != w.name ||
				e.attrs[policy.AttrPolicy].AsString() != t.Name() ||
				e.attrs[policy.AttrStateFrom].AsString() != w.from ||
				e.attrs[policy.AttrStateTo].AsString() != w.to ||
				e.attrs[policy.AttrReason].AsString() != w.reason ||
				e.attrs[policy.AttrErrorType].AsString() != w.errorType ||
				e.attrs[policy.AttrDelay].AsFloat64() != w.delay {
				t.Errorf("event %d = %s %v, want %+v", i, e.name, e.attrs, w)
			}
		}

		counts := oteltest.Int64s(t, reader, policy.MetricEvents, "event")
		if counts["breaker.rejected"] != 2 || counts["breaker.state_change"] != 2 {
			t.Fatalf("resilience.events by event: %v", counts)
		}
	})
}

func TestExecuteRecordsTheCallAsAPipelineDoes(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	cb, err := breaker.New("inventory", breaker.Config{FailureThreshold: 1, Cooldown: time.Minute},
		breaker.WithTracerProvider(tp), breaker.WithMeterProvider(metricnoop.NewMeterProvider()))
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := cb.Execute(context.Background(), func(context.Context) error { return boom }); err != boom {
		t.Fatalf("first call: %v", err)
	}
	if err := cb.Execute(context.Background(), func(context.Context) error { return nil }); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("second call: %v, want the breaker open", err)
	}
	var names []string
	var events []string
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
		for _, ev := range s.Events() {
			events = append(events, ev.Name)
		}
	}
	if got := strings.Join(names, ","); got != "inventory attempt,inventory execute,inventory execute" {
		t.Errorf("spans = %s, want the failed call's attempt and execution, then the rejected execution", got)
	}
	if got := strings.Join(events, ","); got != "exception,breaker.state_change,breaker.rejected" {
		t.Errorf("events = %s", got)
	}
}

// Breakers that share a name on one meter provider all stay on the state
// gauge: its points count them, so that none disappears behind another.
func TestBreakersThatShareANameAllShowOnTheGauge(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	first, err := breaker.New("dup", breaker.Config{FailureThreshold: 1}, breaker.WithMeterProvider(mp))
	require.NoError(t, err)
	second, err := breaker.New("dup", breaker.Config{FailureThreshold: 1}, breaker.WithMeterProvider(mp))
	require.NoError(t, err, "a second breaker of the same name is allowed")
	call(t, first, fail)
	wantState(t, first, breaker.Open)

	assert.Equal(t, map[string]int64{"closed": 1, "open": 1, "half-open": 0, "forced-open": 0, "disabled": 0},
		gauge(t, reader, "dup"), "one breaker open, the other closed")
	call(t, second, fail)
	assert.Equal(t, map[string]int64{"closed": 0, "open": 2, "half-open": 0, "forced-open": 0, "disabled": 0},
		gauge(t, reader, "dup"), "both open")
	runtime.KeepAlive(first)
	runtime.KeepAlive(second)
}
