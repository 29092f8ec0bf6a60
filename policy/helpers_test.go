package policy_test

import (
	"context"
	"testing"

	"github.com/aragora/resilience/policy"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// recorder is an SDK that keeps what a pipeline records, for assertions.
type recorder struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	mp     *sdkmetric.MeterProvider
}

func newRecorder() *recorder {
	r := &recorder{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	r.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	return r
}

// instrument returns p wired to the recorder.
func (r *recorder) instrument(p *policy.Pipeline) *policy.Pipeline {
	return p.With(policy.WithTracerProvider(r.tp), policy.WithMeterProvider(r.mp))
}

// span returns the one ended span named name.
func (r *recorder) span(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range r.spans.Ended() {
		if s.Name() == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans named %q, want 1 (spans: %v)", len(found), name, spanNames(r.spans.Ended()))
	}
	return found[0]
}

func (r *recorder) spansNamed(name string) []sdktrace.ReadOnlySpan {
	var found []sdktrace.ReadOnlySpan
	for _, s := range r.spans.Ended() {
		if s.Name() == name {
			found = append(found, s)
		}
	}
	return found
}

func spanNames(spans []sdktrace.ReadOnlySpan) []string {
	names := make([]string, len(spans))
	for i, s := range spans {
		names[i] = s.Name()
	}
	return names
}

// metric returns the collected metric named name, failing when it is absent.
func (r *recorder) metric(t *testing.T, name string) metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				if sm.Scope.Name != policy.ScopeName || sm.Scope.Version != policy.Version {
					t.Errorf("metric %s has scope %s@%s, want %s@%s", name, sm.Scope.Name, sm.Scope.Version, policy.ScopeName, policy.Version)
				}
				return m
			}
		}
	}
	t.Fatalf("no metric named %s", name)
	return metricdata.Metrics{}
}

// attrs turns span attributes into a map, for comparisons.
func attrs(kvs []attribute.KeyValue) map[attribute.Key]any {
	m := make(map[attribute.Key]any, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.AsInterface()
	}
	return m
}

// setKey renders a metric attribute set as "k=v,k=v", for comparisons.
func setKey(s attribute.Set) string {
	return s.Encoded(attribute.DefaultEncoder())
}
