package health_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/health"
	"github.com/aragora/resilience/policy"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func attrs(kvs []attribute.KeyValue) map[attribute.Key]string {
	m := make(map[attribute.Key]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.String()
	}
	return m
}

func TestASpanPerCheckAllWithAChildPerRun(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	synctest.Test(t, func(t *testing.T) { // for the timeout
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		c := newChecker(t, health.Config{FailureThreshold: 1, Timeout: time.Second}, health.WithTracerProvider(tp))
		mustRegister(t, c, "db", func(context.Context) error { return errBoom })
		mustRegister(t, c, "cache", pass)
		mustRegister(t, c, "slow", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, health.WithCritical(false))
		mustRegister(t, c, "buggy", func(context.Context) error { panic("bug") }, health.WithCritical(false))

		c.CheckAll(context.Background())
	})

	spans := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		spans[s.Name()] = s
	}
	all := spans["api check_all"]
	if all == nil || len(spans) != 5 {
		t.Fatalf("spans %v, want api check_all and four runs", keys(spans))
	}
	if a := attrs(all.Attributes()); a[health.AttrChecker] != "api" || a[health.AttrStatus] != "unhealthy" {
		t.Errorf("check_all attributes %v", a)
	}
	if sc := all.InstrumentationScope(); sc.Name != policy.ScopeName || sc.Version != policy.Version {
		t.Errorf("scope %s %s", sc.Name, sc.Version)
	}
	tests := []struct {
		check, outcome, status, errorType string
		code                              codes.Code
	}{
		{"db", "failure", "unhealthy", "*errors.errorString", codes.Error},
		{"cache", "success", "healthy", "", codes.Unset},
		{"slow", "failure", "degraded", "timeout", codes.Error},
		{"buggy", "panic", "degraded", "panic", codes.Error},
	}
	for _, tt := range tests {
		t.Run(tt.check, func(t *testing.T) {
			s := spans["api/"+tt.check+" check"]
			if s == nil {
				t.Fatalf("no span for %s", tt.check)
			}
			if s.Parent().SpanID() != all.SpanContext().SpanID() {
				t.Errorf("parent %v, want the check_all span", s.Parent().SpanID())
			}
			a := attrs(s.Attributes())
			want := map[attribute.Key]string{
				health.AttrChecker: "api", health.AttrCheck: tt.check,
				policy.AttrOutcome: tt.outcome, health.AttrStatus: tt.status,
			}
			if tt.errorType != "" {
				want[policy.AttrErrorType] = tt.errorType
			}
			for k, v := range want {
				if a[k] != v {
					t.Errorf("%s = %q, want %q", k, a[k], v)
				}
			}
			if s.Status().Code != tt.code {
				t.Errorf("span status %v, want %v", s.Status().Code, tt.code)
			}
			var changes []map[attribute.Key]string
			for _, e := range s.Events() {
				if e.Name == health.EventStatusChange {
					changes = append(changes, attrs(e.Attributes))
				}
			}
			if len(changes) == 0 || changes[0][health.AttrCheck] != tt.check ||
				changes[0][policy.AttrStateFrom] != "unknown" || changes[0][policy.AttrStateTo] != tt.status {
				t.Errorf("status change events %v, want %s from unknown to %s first", changes, tt.check, tt.status)
			}
		})
	}
	// Overall changes are events on the runs that made them. The runs end
	// in any order, so the overall status may pass through degraded on its
	// way from unknown to unhealthy.
	var overall []string
	for _, s := range rec.Ended() {
		for _, e := range s.Events() {
			if a := attrs(e.Attributes); e.Name == health.EventStatusChange && a[health.AttrCheck] == "" {
				overall = append(overall, a[policy.AttrStateFrom]+">"+a[policy.AttrStateTo])
			}
		}
	}
	slices.Sort(overall)
	if want1, want2 := []string{"unknown>unhealthy"}, []string{"degraded>unhealthy", "unknown>degraded"}; !slices.Equal(overall, want1) && !slices.Equal(overall, want2) {
		t.Errorf("overall status change events %v, want %v or %v", overall, want1, want2)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestTheStatusGauge(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	c := newChecker(t, health.Config{FailureThreshold: 1}, health.WithMeterProvider(mp))
	mustRegister(t, c, "db", func(context.Context) error { return errBoom })
	mustRegister(t, c, "cache", pass)
	mustRegister(t, c, "queue", pass)
	c.CheckAll(context.Background())
	mustRegister(t, c, "late", pass) // unknown

	collect := func() map[string]int64 {
		t.Helper()
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		points := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != health.MetricStatus {
					continue
				}
				if sm.Scope.Name != policy.ScopeName {
					t.Errorf("scope %q", sm.Scope.Name)
				}
				for _, dp := range m.Data.(metricdata.Gauge[int64]).DataPoints {
					checker, _ := dp.Attributes.Value("checker")
					check, _ := dp.Attributes.Value("check")
					status, _ := dp.Attributes.Value("status")
					if checker.AsString() != "api" {
						t.Errorf("checker %q", checker.AsString())
					}
					points[check.AsString()+"/"+status.AsString()] = dp.Value
				}
			}
		}
		return points
	}

	points := collect()
	want := map[string]int64{}
	for check, current := range map[string]string{"db": "unhealthy", "cache": "healthy", "queue": "healthy", "late": "unknown", "": "unhealthy"} {
		for _, s := range []string{"unknown", "healthy", "degraded", "unhealthy"} {
			want[check+"/"+s] = 0
			if s == current {
				want[check+"/"+s] = 1
			}
		}
	}
	if len(points) != len(want) {
		t.Errorf("%d points, want %d: %v", len(points), len(want), points)
	}
	for k, v := range want {
		if got, ok := points[k]; !ok || got != v {
			t.Errorf("%s = %d (present %v), want %d", k, got, ok, v)
		}
	}

	c.Stop()
	if points := collect(); len(points) != 0 {
		t.Errorf("after Stop the gauge still reports %v", points)
	}
}

// A collection may run while a checker is being built: its gauge callback is
// registered before NewChecker returns.
func TestTheStatusGaugeCanBeCollectedWhileCheckersAreBuilt(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	done := make(chan struct{})
	collected := make(chan error)
	go func() {
		var err error
		for {
			select {
			case <-done:
				collected <- err
				return
			default:
				var rm metricdata.ResourceMetrics
				if e := reader.Collect(context.Background(), &rm); e != nil {
					err = e
				}
			}
		}
	}()
	var checkers []*health.Checker
	for range 200 {
		c, err := health.NewChecker("racy", health.Config{}, health.WithMeterProvider(mp))
		if err != nil {
			t.Fatal(err)
		}
		checkers = append(checkers, c)
	}
	close(done)
	if err := <-collected; err != nil {
		t.Errorf("collect: %v", err)
	}
	for _, c := range checkers {
		c.Stop()
	}
}

// A run of the background loop, which belongs to no CheckAll, is a span of
// its own: a child of the span in Start's context.
func TestABackgroundRunIsASpanOfItsOwn(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	synctest.Test(t, func(t *testing.T) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		c := newChecker(t, health.Config{CheckInterval: 10 * time.Second}, health.WithTracerProvider(tp), health.WithJitter(0))
		mustRegister(t, c, "db", pass)
		mustRegister(t, c, "cache", pass)
		ctx, parent := tp.Tracer("test").Start(context.Background(), "serve")
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(15 * time.Second) // two runs of each check
		c.Stop()
		parent.End()
	})

	runs := map[string]int{}
	var parentID string
	for _, s := range rec.Ended() {
		if s.Name() == "serve" {
			parentID = s.SpanContext().SpanID().String()
		}
	}
	for _, s := range rec.Ended() {
		switch s.Name() {
		case "serve":
		case "api/db check", "api/cache check":
			runs[s.Name()]++
			if got := s.Parent().SpanID().String(); got != parentID {
				t.Errorf("%s: parent %s, want the span of Start's context %s", s.Name(), got, parentID)
			}
		default:
			t.Errorf("unexpected span %q", s.Name())
		}
	}
	if runs["api/db check"] != 2 || runs["api/cache check"] != 2 {
		t.Errorf("run spans %v, want two per check", runs)
	}
}
