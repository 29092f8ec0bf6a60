package slo_test

import (
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/slo"
)

// gauges collects reader's float64 gauges as name → attribute encoding → value.
func gauges(t *testing.T, reader *sdkmetric.ManualReader) map[string]map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != policy.ScopeName || sm.Scope.Version != policy.Version {
			t.Errorf("scope %+v; want %s %s", sm.Scope, policy.ScopeName, policy.Version)
		}
		for _, mt := range sm.Metrics {
			g, ok := mt.Data.(metricdata.Gauge[float64])
			if !ok {
				continue
			}
			out[mt.Name] = map[string]float64{}
			for _, dp := range g.DataPoints {
				out[mt.Name][dp.Attributes.Encoded(attribute.DefaultEncoder())] = dp.Value
			}
		}
	}
	return out
}

func TestGaugesExportBurnRatesBudgetAndSLI(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		m := newMonitor(t, "kb", slo.Objective{Latency: 300 * time.Millisecond},
			slo.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
		// 2% failures (burn 20); 1 of 98 successes slow.
		traffic(m, time.Hour, time.Minute, batch{calls: 100, bad: 2, slow: 1})

		got := gauges(t, reader)
		lat := (1.0 / 98) / 0.01
		checks := []struct {
			metric, attrs string
			want          float64
		}{
			{slo.MetricBurnRate, "objective=availability,slo=kb,window=5m", 20},
			{slo.MetricBurnRate, "objective=availability,slo=kb,window=30d", 20},
			{slo.MetricBurnRate, "objective=latency,slo=kb,window=1h", lat},
			{slo.MetricSLI, "objective=availability,slo=kb,window=1d", 0.98},
			{slo.MetricSLI, "objective=latency,slo=kb,window=6h", 97.0 / 98},
			{slo.MetricErrorBudgetRemaining, "objective=availability,slo=kb", -19},
			{slo.MetricErrorBudgetRemaining, "objective=latency,slo=kb", 1 - lat},
		}
		for _, c := range checks {
			v, ok := got[c.metric][c.attrs]
			if !ok || !near(v, c.want) {
				t.Errorf("%s{%s} = %v (present: %v), want %v", c.metric, c.attrs, v, ok, c.want)
			}
		}
		for metric, want := range map[string]int{slo.MetricBurnRate: 16, slo.MetricSLI: 16, slo.MetricErrorBudgetRemaining: 2} {
			if n := len(got[metric]); n != want {
				t.Errorf("%s has %d series, want %d (2 objectives × windows)", metric, n, want)
			}
		}

		// Close unregisters the gauges.
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if n := len(gauges(t, reader)[slo.MetricBurnRate]); n != 0 {
			t.Errorf("after Close, %d burn rate series; want none", n)
		}
	})
}

// Collecting the gauges is a read: it notices alert changes.
func TestCollectingTheGaugesNoticesAlertChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		m := newMonitor(t, "kb", slo.Objective{}, slo.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
		var heard []slo.AlertChange
		m.OnAlertChange(func(c slo.AlertChange) { heard = append(heard, c) })
		m.Record(policy.Failure, 0)
		time.Sleep(7 * time.Hour) // every short window empties
		gauges(t, reader)
		if len(heard) != 2 || heard[1].To != slo.AlertNone {
			t.Errorf("heard %+v; want the page, then its clear noticed by the collection", heard)
		}
	})
}
