package bulkhead_test

import (
	"context"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/policy"
)

// collect reads every metric of reader, failing the test on error.
func collect(t *testing.T, reader sdkmetric.Reader) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

// points returns the data points of the int64 gauge or sum called name whose
// attributes include all of attrs, keyed by nothing: there should be one.
func points(rm metricdata.ResourceMetrics, name string, attrs ...attribute.KeyValue) []int64 {
	var values []int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			var dps []metricdata.DataPoint[int64]
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				dps = d.DataPoints
			case metricdata.Sum[int64]:
				dps = d.DataPoints
			}
		next:
			for _, dp := range dps {
				for _, kv := range attrs {
					if v, ok := dp.Attributes.Value(kv.Key); !ok || v != kv.Value {
						continue next
					}
				}
				values = append(values, dp.Value)
			}
		}
	}
	return values
}

// point returns the one value of points, failing the test unless there is
// exactly one.
func point(t *testing.T, rm metricdata.ResourceMetrics, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	values := points(rm, name, attrs...)
	if len(values) != 1 {
		t.Fatalf("%s%v: %d data points %v, want 1", name, attrs, len(values), values)
	}
	return values[0]
}

func TestGauges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		b := mustNew(t, "inventory", bulkhead.Config{MaxConcurrent: 3, MaxQueue: 5}, bulkhead.WithMeterProvider(mp))
		other := mustNew(t, "other", bulkhead.Config{}, bulkhead.WithMeterProvider(mp))
		hold(t, b, 3)
		done := make(chan struct{})
		w1 := queueUp(t, b, context.Background(), done)
		w2 := queueUp(t, b, context.Background(), done)

		rm := collect(t, reader)
		named := bulkhead.AttrBulkhead.String("inventory")
		for _, tt := range []struct {
			name string
			want int64
		}{
			{bulkhead.MetricInflight, 3},
			{bulkhead.MetricQueued, 2},
			{bulkhead.MetricLimit, 3},
		} {
			if got := point(t, rm, tt.name, named); got != tt.want {
				t.Errorf("%s{bulkhead=inventory} = %d, want %d", tt.name, got, tt.want)
			}
		}
		if got := point(t, rm, bulkhead.MetricLimit, bulkhead.AttrBulkhead.String("other")); got != bulkhead.DefaultMaxConcurrent {
			t.Errorf("%s{bulkhead=other} = %d, want %d", bulkhead.MetricLimit, got, bulkhead.DefaultMaxConcurrent)
		}
		for _, sm := range rm.ScopeMetrics {
			if sm.Scope.Name != policy.ScopeName || sm.Scope.Version != policy.Version {
				t.Errorf("instrumentation scope %+v, want %s %s", sm.Scope, policy.ScopeName, policy.Version)
			}
			for _, m := range sm.Metrics {
				if m.Unit != "{call}" {
					t.Errorf("%s has unit %q, want {call}", m.Name, m.Unit)
				}
			}
		}

		for range 3 {
			b.Release()
		}
		close(done)
		if err1, err2 := <-w1, <-w2; err1 != nil || err2 != nil {
			t.Fatalf("waiters: %v, %v", err1, err2)
		}
		synctest.Wait()
		rm = collect(t, reader)
		if in, q := point(t, rm, bulkhead.MetricInflight, named), point(t, rm, bulkhead.MetricQueued, named); in != 0 || q != 0 {
			t.Errorf("inflight %d, queued %d once idle; want 0, 0", in, q)
		}
		runtime.KeepAlive(other)
	})
}

func TestGaugesStopWithTheBulkhead(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	func() {
		b := mustNew(t, "ephemeral", bulkhead.Config{}, bulkhead.WithMeterProvider(mp))
		if n := len(points(collect(t, reader), bulkhead.MetricLimit)); n != 1 {
			t.Fatalf("%d limit data points while the bulkhead lives, want 1", n)
		}
		runtime.KeepAlive(b)
	}()
	runtime.GC()
	if values := points(collect(t, reader), bulkhead.MetricLimit); len(values) != 0 {
		t.Errorf("limit data points %v after the bulkhead was collected, want none", values)
	}
}

func TestAdaptiveLimitGauge(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	b := mustNew(t, "adaptive", bulkhead.Config{MaxConcurrent: 50, Adaptive: &bulkhead.Adaptive{InitialLimit: 12}},
		bulkhead.WithMeterProvider(mp))
	if got := point(t, collect(t, reader), bulkhead.MetricLimit, bulkhead.AttrBulkhead.String("adaptive")); got != 12 {
		t.Errorf("limit gauge %d, want the initial limit, 12", got)
	}
	runtime.KeepAlive(b)
}

// event is a span event reduced to what the tests compare.
type event struct {
	name  string
	attrs map[attribute.Key]attribute.Value
}

func events(rec *tracetest.SpanRecorder) [][]event {
	var out [][]event
	for _, s := range rec.Ended() {
		if s.Name() != "orders execute" {
			continue
		}
		var evs []event
		for _, e := range s.Events() {
			ev := event{name: e.Name, attrs: map[attribute.Key]attribute.Value{}}
			for _, kv := range e.Attributes {
				ev.attrs[kv.Key] = kv.Value
			}
			evs = append(evs, ev)
		}
		out = append(out, evs)
	}
	return out
}

func TestEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		b := mustNew(t, "orders-db", bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1, MaxWait: 100 * time.Millisecond})
		p := policy.MustNew("orders", b).With(policy.WithTracerProvider(tp), policy.WithMeterProvider(mp))
		ctx := context.Background()
		nop := func(context.Context) error { return nil }

		// 1: uncontended, no event.
		if err := p.Execute(ctx, nop); err != nil {
			t.Fatal(err)
		}
		// 2: waits 30ms for the permit.
		hold(t, b, 1)
		go func() { time.Sleep(30 * time.Millisecond); b.Release() }()
		if err := p.Execute(ctx, nop); err != nil {
			t.Fatal(err)
		}
		// 3: waits MaxWait in vain. 4, meanwhile: finds the queue full.
		hold(t, b, 1)
		timedOut := make(chan error)
		go func() { timedOut <- p.Execute(ctx, nop) }()
		synctest.Wait()
		if err := p.Execute(ctx, nop); policy.OutcomeOf(err) != policy.Rejected {
			t.Fatalf("call into a full queue: %v", err)
		}
		if err := <-timedOut; policy.OutcomeOf(err) != policy.Rejected {
			t.Fatalf("call that waited MaxWait: %v", err)
		}
		b.Release()

		pol := attribute.StringValue("orders-db")
		want := [][]event{
			nil,
			{{"bulkhead.queued", map[attribute.Key]attribute.Value{
				policy.AttrPolicy: pol, policy.AttrDelay: attribute.Float64Value(0.03)}}},
			{{"bulkhead.rejected", map[attribute.Key]attribute.Value{
				policy.AttrPolicy: pol, policy.AttrReason: attribute.StringValue("queue_full"),
				policy.AttrErrorType: attribute.StringValue("bulkhead_full")}}},
			{
				{"bulkhead.queued", map[attribute.Key]attribute.Value{
					policy.AttrPolicy: pol, policy.AttrDelay: attribute.Float64Value(0.1),
					policy.AttrErrorType: attribute.StringValue("bulkhead_wait_timeout")}},
				{"bulkhead.rejected", map[attribute.Key]attribute.Value{
					policy.AttrPolicy: pol, policy.AttrReason: attribute.StringValue("max_wait"),
					policy.AttrDelay: attribute.Float64Value(0.1), policy.AttrErrorType: attribute.StringValue("bulkhead_wait_timeout")}},
			},
		}
		got := events(rec)
		if len(got) != len(want) {
			t.Fatalf("%d execution spans, want %d", len(got), len(want))
		}
		for i := range want {
			if len(got[i]) != len(want[i]) {
				t.Errorf("execution %d: events %v, want %v", i+1, got[i], want[i])
				continue
			}
			for j, w := range want[i] {
				g := got[i][j]
				if g.name != w.name || len(g.attrs) != len(w.attrs) {
					t.Errorf("execution %d, event %d: %v, want %v", i+1, j+1, g, w)
					continue
				}
				for k, v := range w.attrs {
					if g.attrs[k] != v {
						t.Errorf("execution %d, event %s: %s = %v, want %v", i+1, g.name, k, g.attrs[k].String(), v.String())
					}
				}
			}
		}

		rm := collect(t, reader)
		for _, tt := range []struct {
			event string
			want  int64
		}{
			{"bulkhead.queued", 2},
			{"bulkhead.rejected", 2},
		} {
			got := point(t, rm, policy.MetricEvents, attribute.String("policy", "orders-db"), attribute.String("event", tt.event))
			if got != tt.want {
				t.Errorf("%s{event=%s} = %d, want %d", policy.MetricEvents, tt.event, got, tt.want)
			}
		}
		wantIdle(t, b)
	})
}
