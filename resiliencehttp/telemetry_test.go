package resiliencehttp_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/resiliencehttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestTheSpanTreeWithOtelhttp(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	srv := newServer(t, failFirst(1, http.StatusServiceUnavailable, "busy"))
	var fr fastRetry
	p := pipeline(t, fr.policy(t, 2, time.Second)).With(policy.WithTracerProvider(tp), policy.WithMeterProvider(mp))
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	tr, err := resiliencehttp.NewTransport(otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(tp), otelhttp.WithMeterProvider(mp)), p)
	require.NoError(t, err)

	ctx, caller := tp.Tracer("test").Start(context.Background(), "caller")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/secret/path/42", nil)
	require.NoError(t, err)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	caller.End()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans.Ended() {
		byName[s.Name()] = append(byName[s.Name()], s)
	}
	require.Len(t, byName["caller"], 1)
	require.Len(t, byName["api execute"], 1)
	require.Len(t, byName["api attempt"], 2)
	require.Len(t, byName["HTTP GET"], 2, "one client span per attempt")
	exec := byName["api execute"][0]
	assert.Equal(t, byName["caller"][0].SpanContext().SpanID(), exec.Parent().SpanID())

	for i, attempt := range byName["api attempt"] {
		assert.Equal(t, exec.SpanContext().SpanID(), attempt.Parent().SpanID())
		client := byName["HTTP GET"][i]
		assert.Equal(t, attempt.SpanContext().SpanID(), client.Parent().SpanID(), "the client span of attempt %d is its child", i+1)
		assert.Equal(t, trace.SpanKindClient, client.SpanKind())

		attrs := attrMap(attempt.Attributes())
		assert.Equal(t, "GET", attrs["http.request.method"].AsString())
		assert.Equal(t, "127.0.0.1", attrs["server.address"].AsString())
		assert.Equal(t, int64(srv.Listener.Addr().(*net.TCPAddr).Port), attrs["server.port"].AsInt64())
		want := []int64{503, 200}[i]
		assert.Equal(t, want, attrs["http.response.status_code"].AsInt64())
		assert.Equal(t, want, attrMap(client.Attributes())["http.response.status_code"].AsInt64())
	}
	failed, ok := attrMap(byName["api attempt"][0].Attributes())["error.type"]
	require.True(t, ok)
	assert.Equal(t, "503", failed.AsString())
	assert.Equal(t, attrMap(byName["HTTP GET"][0].Attributes())["error.type"], failed, "error.type as otelhttp writes it")
	assert.Equal(t, codes.Error, byName["api attempt"][0].Status().Code)
	_, ok = attrMap(byName["api attempt"][1].Attributes())["error.type"]
	assert.False(t, ok)

	// No request path in any of the pipeline's metric attributes.
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	var seen int
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != policy.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			for _, set := range attributeSets(m.Data) {
				seen++
				for _, kv := range set.ToSlice() {
					assert.NotContains(t, kv.Value.String(), "secret", "%s %s", m.Name, kv.Key)
					assert.NotContains(t, kv.Value.String(), "/", "%s %s", m.Name, kv.Key)
				}
			}
		}
	}
	assert.NotZero(t, seen)
	// Nor in the attempt spans.
	for _, s := range byName["api attempt"] {
		for _, kv := range s.Attributes() {
			assert.False(t, strings.Contains(kv.Value.String(), "secret"), "%s", kv.Key)
		}
	}
}

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func attributeSets(data metricdata.Aggregation) []attribute.Set {
	var sets []attribute.Set
	switch d := data.(type) {
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	}
	return sets
}
