package resiliencegrpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestTheSpanTreeWithOtelgrpc(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	mp := sdkmetric.NewMeterProvider()
	h := &health{check: failFirst(1, grpccodes.Unavailable)}
	var fr fastRetry
	p := pipeline(t, fr.policy(t, 2, time.Second)).With(policy.WithTracerProvider(tp), policy.WithMeterProvider(mp))
	opts := append(resilient(t, p), grpc.WithStatsHandler(otelgrpc.NewClientHandler(
		otelgrpc.WithTracerProvider(tp), otelgrpc.WithMeterProvider(mp))))
	c := dial(t, listen(t, h), opts...)

	ctx, caller := tp.Tracer("test").Start(context.Background(), "caller")
	_, err := c.Check(ctx, &healthpb.HealthCheckRequest{})
	caller.End()
	require.NoError(t, err)

	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans.Ended() {
		byName[s.Name()] = append(byName[s.Name()], s)
	}
	require.Len(t, byName["health execute"], 1)
	require.Len(t, byName["health attempt"], 2)
	clients := byName["grpc.health.v1.Health/Check"]
	require.Len(t, clients, 2, "one otelgrpc client span per attempt; spans: %v", byName)
	exec := byName["health execute"][0]
	assert.Equal(t, caller.SpanContext().SpanID(), exec.Parent().SpanID())
	for i, attempt := range byName["health attempt"] {
		assert.Equal(t, exec.SpanContext().SpanID(), attempt.Parent().SpanID())
		assert.Equal(t, attempt.SpanContext().SpanID(), clients[i].Parent().SpanID(), "attempt %d's client span", i+1)
		assert.Equal(t, trace.SpanKindClient, clients[i].SpanKind())
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range attempt.Attributes() {
			attrs[kv.Key] = kv.Value
		}
		assert.Equal(t, "grpc", attrs["rpc.system"].AsString())
		assert.Equal(t, "grpc.health.v1.Health", attrs["rpc.service"].AsString())
		assert.Equal(t, "Check", attrs["rpc.method"].AsString())
		assert.Equal(t, []int64{int64(grpccodes.Unavailable), 0}[i], attrs["rpc.grpc.status_code"].AsInt64())
		if i == 0 {
			assert.Equal(t, "UNAVAILABLE", attrs["error.type"].AsString())
			assert.Equal(t, codes.Error, attempt.Status().Code)
		} else {
			_, failed := attrs["error.type"]
			assert.False(t, failed)
		}
	}
	// The server saw the retry's metadata.
	assert.Equal(t, []string{"", "1"}, h.Previous())
}
