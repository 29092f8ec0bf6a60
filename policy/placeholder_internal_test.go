package policy

import (
	"testing"

	"go.opentelemetry.io/otel"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// The zero-cost path with no SDK installed rests on recognising the otel
// package's placeholders by their type; a rename in otel must fail here, not
// silently make every execution pay for non-recording spans.
func TestPlaceholdersAreRecognised(t *testing.T) {
	off := map[string]any{
		"global tracer provider before an SDK": otel.GetTracerProvider(),
		"global meter provider before an SDK":  otel.GetMeterProvider(),
		"no-op tracer provider":                tracenoop.NewTracerProvider(),
		"no-op meter provider":                 metricnoop.NewMeterProvider(),
		"deprecated no-op tracer provider":     trace.NewNoopTracerProvider(), //lint:ignore SA1019 still in use by some callers
	}
	for name, v := range off {
		if !placeholder(v) {
			t.Errorf("%s (%T) is not recognised as recording nothing", name, v)
		}
	}
	on := map[string]any{
		"SDK tracer provider": sdktrace.NewTracerProvider(),
		"SDK meter provider":  sdkmetric.NewMeterProvider(),
	}
	for name, v := range on {
		if placeholder(v) {
			t.Errorf("%s (%T) is taken for a placeholder", name, v)
		}
	}
	if newTelemetry(tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider()) != nil {
		t.Error("telemetry is on with no-op providers")
	}
}
