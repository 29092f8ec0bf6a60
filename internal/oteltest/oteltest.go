package oteltest

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Collect returns what reader holds now, failing t when it cannot.
func Collect(t testing.TB, reader sdkmetric.Reader) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect: %v", err)
	}
	return rm
}

// Int64s returns the points of the int64 counter or gauge named name, summed
// by the values of the attributes keys, joined by a space: with keys
// "policy", "event", a key of the map reads "retry retry.exhausted". A metric
// that was not recorded gives an empty map.
func Int64s(t testing.TB, reader sdkmetric.Reader, name string, keys ...string) map[string]int64 {
	t.Helper()
	points := map[string]int64{}
	for _, sm := range Collect(t, reader).ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			var dps []metricdata.DataPoint[int64]
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				dps = data.DataPoints
			case metricdata.Gauge[int64]:
				dps = data.DataPoints
			default:
				t.Fatalf("metric %s holds %T, not int64 points", name, m.Data)
			}
			for _, dp := range dps {
				values := make([]string, len(keys))
				for i, k := range keys {
					v, _ := dp.Attributes.Value(attribute.Key(k))
					values[i] = v.String()
				}
				points[strings.Join(values, " ")] += dp.Value
			}
		}
	}
	return points
}
