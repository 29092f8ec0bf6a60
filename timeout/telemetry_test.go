package timeout_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/internal/oteltest"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestATimeoutIsAnEventOnTheExecutionSpanAndInTheEventsCounter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := tracetest.NewSpanRecorder()
		reader := sdkmetric.NewManualReader()
		p := policy.MustNew("search", mustNew(t, 250*time.Millisecond, timeout.WithName("search-timeout"),
			timeout.WithFallback(func(context.Context, error) error { return nil }))).
			With(policy.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))),
				policy.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))

		if err := p.Execute(context.Background(), waitForDone); err != nil {
			t.Fatalf("err = %v, want the fallback's nil", err)
		}

		var exec sdktrace.ReadOnlySpan
		for _, s := range rec.Ended() {
			if s.Name() == "search execute" {
				exec = s
			}
		}
		if exec == nil {
			t.Fatalf("no execution span among %d spans", len(rec.Ended()))
		}
		events := exec.Events()
		if len(events) != 2 || events[0].Name != "timeout" || events[1].Name != "fallback" {
			t.Fatalf("execution span events = %v, want timeout then fallback", events)
		}
		want := map[attribute.Key]attribute.Value{
			policy.AttrPolicy:    attribute.StringValue("search-timeout"),
			policy.AttrAttempt:   attribute.IntValue(1),
			policy.AttrDelay:     attribute.Float64Value(0.25),
			policy.AttrErrorType: attribute.StringValue("timeout"),
		}
		got := map[attribute.Key]attribute.Value{}
		for _, kv := range events[0].Attributes {
			got[kv.Key] = kv.Value
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("timeout event %s = %v, want %v", k, got[k].String(), v.String())
			}
		}

		counts := oteltest.Int64s(t, reader, policy.MetricEvents, "policy", "event")
		if counts["search-timeout timeout"] != 1 || counts["search-timeout fallback"] != 1 || len(counts) != 2 {
			t.Errorf("resilience.events = %v, want one timeout and one fallback from search-timeout", counts)
		}
	})
}

func TestNoTimeoutNoEvent(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	p := policy.MustNew("fast", mustNew(t, time.Hour)).
		With(policy.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))
	boom := errors.New("boom")
	if err := p.Execute(context.Background(), func(context.Context) error { return boom }); err != boom {
		t.Fatalf("err = %v", err)
	}
	for _, s := range rec.Ended() {
		if len(s.Events()) != 0 && s.Name() == "fast execute" {
			t.Errorf("events %v on an execution that did not time out", s.Events())
		}
	}
}

// An attempt that ran out of time names its error.type with the word of the
// timeout event, "timeout", and so does the execution it ended.
func TestAnAttemptThatRanOutOfTimeSaysTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := tracetest.NewSpanRecorder()
		p := policy.MustNew("slow", mustNew(t, 250*time.Millisecond)).
			With(policy.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))),
				policy.WithMeterProvider(sdkmetric.NewMeterProvider()))
		err := p.Execute(context.Background(), waitForDone)
		require.ErrorIs(t, err, timeout.ErrTimeout)

		types := map[string]string{}
		var event string
		for _, s := range rec.Ended() {
			for _, kv := range s.Attributes() {
				if kv.Key == policy.AttrErrorType {
					types[s.Name()] = kv.Value.AsString()
				}
			}
			for _, e := range s.Events() {
				if e.Name == "timeout" {
					event = e.Name
				}
			}
		}
		assert.Equal(t, "timeout", event)
		assert.Equal(t, map[string]string{"slow attempt": event, "slow execute": event}, types)
	})
}
