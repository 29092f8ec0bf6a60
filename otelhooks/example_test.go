package otelhooks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/aragora/resilience/otelhooks"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Metric callbacks under the namespace "aragora", attached to a retry policy
// in one call: its retries and its exhaustion are counted.
func ExampleNewMetricsCallbacks() {
	reader := sdkmetric.NewManualReader() // a real program would use Setup's provider
	cb, err := otelhooks.NewMetricsCallbacks("aragora",
		otelhooks.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	if err != nil {
		panic(err)
	}
	r, err := retry.New(retry.Config{MaxRetries: 2, BaseDelay: time.Millisecond}, otelhooks.RetryOptions(cb)...)
	if err != nil {
		panic(err)
	}
	p := policy.MustNew("fetch", r)
	_ = p.Execute(context.Background(), func(context.Context) error { return errors.New("down") })

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if s, ok := m.Data.(metricdata.Sum[int64]); ok {
			fmt.Println(m.Name, s.DataPoints[0].Value)
		}
	}
	// Output:
	// aragora.retry.attempts 2
	// aragora.retry.exhausted 1
}

// Setup with the metrics served on the application's mux: every pipeline
// of the program records into it.
func ExampleSetup() {
	mux := http.NewServeMux()
	shutdown, err := otelhooks.Setup(context.Background(),
		otelhooks.WithServiceName("checkout"),
		otelhooks.WithServeMux(mux))
	if err != nil {
		panic(err)
	}
	defer func() { _ = shutdown(context.Background()) }()

	ctx, span := otel.Tracer("example").Start(context.Background(), "request")
	_ = policy.MustNew("payments").Execute(ctx, func(context.Context) error { return nil })
	span.End()

	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	body := rec.Body.String()
	fmt.Println(strings.Contains(body, `resilience_execution_duration_seconds_count{`))
	fmt.Println(strings.Contains(body, `trace_id="`+span.SpanContext().TraceID().String()+`"`))
	// Output:
	// true
	// true
}
