package oteltest_test

import (
	"context"
	"testing"

	"github.com/aragora/resilience/internal/oteltest"
	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func TestInt64sSumsCountersAndGaugesByTheKeysAsked(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test")
	events, _ := meter.Int64Counter("events")
	add := func(n int64, policy, event string) {
		events.Add(context.Background(), n, metric.WithAttributes(attribute.String("policy", policy), attribute.String("event", event)))
	}
	add(2, "retry", "retry")
	add(1, "retry", "retry.exhausted")
	add(5, "breaker", "retry") // same event, another policy
	gauge, _ := meter.Int64Gauge("state")
	gauge.Record(context.Background(), 1, metric.WithAttributes(attribute.String("state", "open")))

	assert.Equal(t, map[string]int64{"retry": 7, "retry.exhausted": 1},
		oteltest.Int64s(t, reader, "events", "event"), "by event")
	assert.Equal(t, map[string]int64{"retry retry": 2, "retry retry.exhausted": 1, "breaker retry": 5},
		oteltest.Int64s(t, reader, "events", "policy", "event"), "by policy and event")
	if got := oteltest.Int64s(t, reader, "state", "state"); got["open"] != 1 || len(got) != 1 {
		t.Errorf("gauge = %v", got)
	}
	if got := oteltest.Int64s(t, reader, "absent"); len(got) != 0 {
		t.Errorf("absent metric = %v", got)
	}
}
