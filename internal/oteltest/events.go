package oteltest

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Recorder holds the span recorder and metric reader of a test's providers.
type Recorder struct {
	Spans  *tracetest.SpanRecorder
	Reader *sdkmetric.ManualReader
	TP     *sdktrace.TracerProvider
	MP     *sdkmetric.MeterProvider
}

// NewRecorder returns providers that record into a span recorder and a
// manual metric reader.
func NewRecorder() *Recorder {
	r := &Recorder{Spans: tracetest.NewSpanRecorder(), Reader: sdkmetric.NewManualReader()}
	r.TP = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.Spans))
	r.MP = sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.Reader))
	return r
}

// Event is a span event as the tests compare it: its name and attributes.
type Event struct {
	Name  string
	Attrs map[attribute.Key]attribute.Value
}

// Events returns the events of the ended spans named span, in order.
func (r *Recorder) Events(span string) []Event {
	var out []Event
	for _, s := range r.Spans.Ended() {
		if s.Name() != span {
			continue
		}
		for _, e := range s.Events() {
			ev := Event{Name: e.Name, Attrs: map[attribute.Key]attribute.Value{}}
			for _, kv := range e.Attributes {
				ev.Attrs[kv.Key] = kv.Value
			}
			out = append(out, ev)
		}
	}
	return out
}

// EventCounts returns the resilience.events counter by policy and event, as
// [Int64s] does with the keys "policy" and "event".
func (r *Recorder) EventCounts(t testing.TB) map[string]int64 {
	t.Helper()
	return Int64s(t, r.Reader, "resilience.events", "policy", "event")
}
