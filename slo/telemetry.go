package slo

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/aragora/resilience/policy"
)

// The names of the gauges a monitor registers, on a meter named
// policy.ScopeName. Their unit is 1, so the Prometheus exporter, which adds
// _ratio to gauges of unit 1, turns them into resilience_slo_burn_rate_ratio,
// resilience_slo_error_budget_remaining_ratio and resilience_slo_sli_ratio.
const (
	MetricBurnRate             = "resilience.slo.burn_rate"              // gauge, 1: slo, objective, window
	MetricErrorBudgetRemaining = "resilience.slo.error_budget.remaining" // gauge, 1: slo, objective
	MetricSLI                  = "resilience.slo.sli"                    // gauge, 1: slo, objective, window
)

// The attributes of the gauges. Their values come from code: the monitor's
// name, "availability" or "latency", and a window label such as "1h".
const (
	AttrSLO       = attribute.Key("slo")
	AttrObjective = attribute.Key("objective")
	AttrWindow    = attribute.Key("window")
)

// gauges is a monitor's registration with its meter and the attribute sets it
// observes with, built once.
type gauges struct {
	reg    metric.Registration // nil when registration failed
	window [numIndicators][numWindows]metric.ObserveOption
	budget [numIndicators]metric.ObserveOption
}

// registerGauges registers the monitor's gauges on mp. A failure goes to
// otel.Handle: telemetry never fails a monitor.
func (m *Monitor) registerGauges(mp metric.MeterProvider) *gauges {
	g := &gauges{}
	for ind := range numIndicators {
		slo, obj := AttrSLO.String(m.name), AttrObjective.String(ind.String())
		g.budget[ind] = metric.WithAttributeSet(attribute.NewSet(slo, obj))
		for w := range numWindows {
			g.window[ind][w] = metric.WithAttributeSet(attribute.NewSet(slo, obj, AttrWindow.String(m.ws.labels[w])))
		}
	}
	meter := mp.Meter(policy.ScopeName, metric.WithInstrumentationVersion(policy.Version))
	burn, err := meter.Float64ObservableGauge(MetricBurnRate, metric.WithUnit("1"),
		metric.WithDescription("How fast an SLO's error budget burns over a rolling window: 1 spends it exactly over the SLO window."))
	handle(err)
	budget, err := meter.Float64ObservableGauge(MetricErrorBudgetRemaining, metric.WithUnit("1"),
		metric.WithDescription("Share of an SLO's error budget left over its window; negative when overspent."))
	handle(err)
	sli, err := meter.Float64ObservableGauge(MetricSLI, metric.WithUnit("1"),
		metric.WithDescription("Share of good calls over a rolling window."))
	handle(err)
	g.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := m.Snapshot()
		for _, is := range [...]*IndicatorSnapshot{&s.Availability, s.Latency} {
			if is == nil {
				continue
			}
			for w, ws := range is.Windows {
				o.ObserveFloat64(burn, ws.BurnRate, g.window[is.Indicator][w])
				o.ObserveFloat64(sli, ws.SLI, g.window[is.Indicator][w])
			}
			o.ObserveFloat64(budget, is.ErrorBudgetRemaining, g.budget[is.Indicator])
		}
		return nil
	}, burn, budget, sli)
	handle(err)
	return g
}

func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}
