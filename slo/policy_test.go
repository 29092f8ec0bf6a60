package slo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/aragora/resilience/internal/oteltest"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/slo"
)

// rejecter is a policy that refuses every call, as an open breaker does.
type rejecter struct{}

var errRefused = fmt.Errorf("refused: %w", policy.ErrRejected)

func (rejecter) Run(context.Context, policy.Execution) error { return errRefused }

func calls(m *slo.Monitor) (total, bad float64) {
	w := m.Snapshot().Availability.Windows[0]
	return w.Calls, w.Bad
}

func TestRunRecordsWhatTheRestOfThePipelineReturns(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name      string
		inner     []policy.Policy
		fn        func(context.Context) error
		cancel    bool
		wantErr   error
		wantCalls float64
		wantBad   float64
	}{
		{"a success is good", nil, func(context.Context) error { return nil }, false, nil, 1, 0},
		{"a failure is bad", nil, func(context.Context) error { return errBoom }, false, errBoom, 1, 1},
		{"an inner rejection is bad", []policy.Policy{rejecter{}}, func(context.Context) error { return nil }, false, policy.ErrRejected, 1, 1},
		{"a deadline that ran out is bad", nil, func(context.Context) error { return context.DeadlineExceeded }, false, context.DeadlineExceeded, 1, 1},
		{"a caller's cancellation is not recorded", nil, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, true, context.Canceled, 0, 0},
		{"a cancellation error without a cancelled caller is bad", nil, func(context.Context) error { return context.Canceled }, false, context.Canceled, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newMonitor(t, "api", slo.Objective{})
				p := policy.MustNew("api", append([]policy.Policy{m}, tt.inner...)...)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tt.cancel {
					go func() { time.Sleep(time.Second); cancel() }()
				}
				if err := p.Execute(ctx, tt.fn); !errors.Is(err, tt.wantErr) {
					t.Errorf("Execute returned %v, want %v unchanged", err, tt.wantErr)
				}
				if total, bad := calls(m); total != tt.wantCalls || bad != tt.wantBad {
					t.Errorf("recorded %v calls, %v bad; want %v and %v", total, bad, tt.wantCalls, tt.wantBad)
				}
			})
		})
	}
}

func TestRunCountsAPanicAsBadAndLetsItThrough(t *testing.T) {
	m := newMonitor(t, "api", slo.Objective{})
	p := policy.MustNew("api", m)
	defer func() {
		if v := recover(); v != "kaput" {
			t.Errorf("recovered %v, want the original panic value", v)
		}
		if total, bad := calls(m); total != 1 || bad != 1 {
			t.Errorf("recorded %v calls, %v bad; want the panic as 1 bad call", total, bad)
		}
	}()
	_ = p.Execute(t.Context(), func(context.Context) error { panic("kaput") })
}

func TestRunMeasuresLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMonitor(t, "api", slo.Objective{Latency: 300 * time.Millisecond})
		p := policy.MustNew("api", m)
		for _, d := range []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 301 * time.Millisecond} {
			_ = p.Execute(t.Context(), func(context.Context) error { time.Sleep(d); return nil })
		}
		w := m.Snapshot().Latency.Windows[0]
		if w.Calls != 3 || w.Bad != 1 {
			t.Errorf("latency window %+v; want 3 calls, 1 slow (only the one over 300ms)", w)
		}
	})
}

func TestRunReportsAlertChangesOnTheExecutionSpan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := tracetest.NewSpanRecorder()
		reader := sdkmetric.NewManualReader()
		m := newMonitor(t, "kb", slo.Objective{}, slo.WithMeterProvider(sdkmetric.NewMeterProvider()))
		p := policy.MustNew("kb.query", m).With(
			policy.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))),
			policy.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
		var heard []slo.AlertChange
		m.OnAlertChange(func(c slo.AlertChange) { heard = append(heard, c) })

		_ = p.Execute(t.Context(), func(context.Context) error { return nil })
		_ = p.Execute(t.Context(), func(context.Context) error { return errors.New("down") })

		spans := rec.Ended()
		if len(spans) != 4 { // two executions, two attempts
			t.Fatalf("got %d spans, want 4", len(spans))
		}
		var events []sdktrace.Event
		for _, s := range spans {
			if s.Name() == "kb.query execute" {
				events = append(events, s.Events()...)
			}
		}
		if len(events) != 1 || events[0].Name != "slo.alert_change" {
			t.Fatalf("execution span events = %+v; want one slo.alert_change, on the failing execution", events)
		}
		attrs := attribute.NewSet(events[0].Attributes...)
		for k, want := range map[attribute.Key]string{
			policy.AttrPolicy: "kb", policy.AttrStateFrom: "none", policy.AttrStateTo: "page", policy.AttrReason: "availability",
		} {
			if v, _ := attrs.Value(k); v.AsString() != want {
				t.Errorf("event attribute %s = %q, want %q", k, v.AsString(), want)
			}
		}
		if len(heard) != 1 || heard[0] != (slo.AlertChange{SLO: "kb", Indicator: slo.Availability, From: slo.AlertNone, To: slo.AlertPage}) {
			t.Errorf("listeners heard %+v; want one none→page change", heard)
		}

		if n := oteltest.Int64s(t, reader, policy.MetricEvents, "event")["slo.alert_change"]; n != 1 {
			t.Errorf("resilience.events{event=slo.alert_change} = %d, want 1", n)
		}
	})
}

// The good execution that brings the long window up to AlertMinCalls, and
// so raises the alert, reports it on its own span.
func TestTheExecutionThatReachesAlertMinCallsReportsTheAlert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := tracetest.NewSpanRecorder()
		m := newMonitor(t, "kb", slo.Objective{AlertMinCalls: 3}, slo.WithMeterProvider(sdkmetric.NewMeterProvider()))
		p := policy.MustNew("kb.query", m).With(
			policy.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))),
			policy.WithMeterProvider(sdkmetric.NewMeterProvider()))
		for _, fail := range []bool{true, true, false} {
			_ = p.Execute(t.Context(), func(context.Context) error {
				if fail {
					return errors.New("down")
				}
				return nil
			})
		}
		var alerts []int // the index of each execution span with an alert event
		i := 0
		for _, s := range rec.Ended() {
			if s.Name() != "kb.query execute" {
				continue
			}
			for _, e := range s.Events() {
				if e.Name == "slo.alert_change" {
					alerts = append(alerts, i)
				}
			}
			i++
		}
		assert.Equal(t, []int{2}, alerts, "executions that reported an alert change")
	})
}
