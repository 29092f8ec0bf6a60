package slo

import "time"

// Snapshot is a monitor's state at one moment: for each indicator, its SLI
// and burn rate over every window, its error budget and its alert. It is a
// plain value, safe to keep, compare and encode as JSON (for a health
// endpoint).
type Snapshot struct {
	SLO    string        // the monitor's name
	Window time.Duration // the objective's window: the error budget's span
	Alert  Alert         // the most urgent of the indicators' alerts

	Availability IndicatorSnapshot
	Latency      *IndicatorSnapshot // nil when the objective sets no latency threshold
}

// IndicatorSnapshot is one indicator's part of a [Snapshot].
type IndicatorSnapshot struct {
	Indicator Indicator
	Target    float64       // the share of calls that must be good
	Threshold time.Duration // for Latency: the latency a good call stays within; zero for Availability

	// SLI is the share of good calls over the objective's window: 1 when it
	// holds no calls.
	SLI float64

	// ErrorBudgetRemaining is the share of the error budget left over the
	// objective's window: 1 − bad/allowed, where allowed = (1 − Target) ×
	// calls. It is 1 with no bad call, 0 when the budget is spent exactly,
	// and negative when it is overspent (−1: spent twice over). It equals
	// 1 minus the burn rate over the objective's window.
	ErrorBudgetRemaining float64

	Alert Alert // the indicator's alert

	// Windows are the indicator's figures over each window, shortest first,
	// the objective's own window last: for 30 days, 5m, 30m, 1h, 2h, 6h, 1d,
	// 3d and 30d.
	Windows []WindowStats
}

// WindowStats are an indicator's figures over one rolling window. Calls and
// Bad are estimates: the window's oldest bucket (1/60 of the window) counts in
// proportion to the part of it still inside the window.
type WindowStats struct {
	Window time.Duration // the window's length
	Label  string        // the window attribute of the gauges, such as "5m", "1h" or "30d"

	Calls float64 // the calls the indicator counts: all for availability, successful ones for latency
	Bad   float64 // the calls among them that missed the objective

	SLI      float64 // 1 − Bad/Calls; 1 when the window holds no calls
	BurnRate float64 // (Bad/Calls) / (1 − Target): 1 spends the budget exactly over the objective's window; 0 without calls
}

// BurnRate returns the burn rate over the window of the given length, and
// false when the indicator has no such window.
func (s IndicatorSnapshot) BurnRate(window time.Duration) (float64, bool) {
	for _, w := range s.Windows {
		if w.Window == window {
			return w.BurnRate, true
		}
	}
	return 0, false
}

// Windows returns the lengths of the monitor's windows, shortest first, the
// objective's window last: the SRE workbook's 5m, 30m, 1h, 2h, 6h, 1d and 3d
// scaled to the objective's window, then the window itself.
func (m *Monitor) Windows() []time.Duration {
	ds := make([]time.Duration, numWindows)
	for i := range ds {
		ds[i] = m.ws.lengths[i]
	}
	return ds
}

// Snapshot returns the monitor's state now. Taking it brings the alerts up to
// date: a change it notices goes to the alert listeners before it returns.
func (m *Monitor) Snapshot() Snapshot {
	s, ch := m.snapshot()
	m.listeners.notify(ch.list())
	return s
}

func (m *Monitor) snapshot() (Snapshot, changes) {
	n := 1
	if m.obj.Latency > 0 {
		n = 2
	}
	// One allocation for the windows of both indicators, one for Latency.
	stats := make([]WindowStats, n*numWindows)
	s := Snapshot{SLO: m.name, Window: m.ws.lengths[winSLO]}
	var ch changes
	now := time.Now()

	m.mu.Lock()
	pos := m.at(now)
	m.ws.advance(pos)
	m.evaluate(pos, [numIndicators]bool{true, n == 2}, &ch)
	s.Availability = m.indicator(Availability, pos, stats[:numWindows:numWindows])
	if n == 2 {
		lat := m.indicator(Latency, pos, stats[numWindows:])
		s.Latency = &lat
	}
	m.mu.Unlock()

	s.Alert = s.Availability.Alert
	if s.Latency != nil && s.Latency.Alert > s.Alert {
		s.Alert = s.Latency.Alert
	}
	return s, ch
}

// indicator fills stats with ind's windows. Callers hold m.mu, with the
// windows advanced to pos.
func (m *Monitor) indicator(ind Indicator, pos float64, stats []WindowStats) IndicatorSnapshot {
	is := IndicatorSnapshot{Indicator: ind, Target: m.obj.Availability, Alert: m.alerts[ind], Windows: stats}
	if ind == Latency {
		is.Target, is.Threshold = m.obj.LatencyTarget, m.obj.Latency
	}
	for w := range stats {
		ws := &stats[w]
		ws.Window = m.ws.lengths[w]
		ws.Label = m.ws.labels[w]
		ws.Calls, ws.Bad, ws.SLI, ws.BurnRate = m.window(ind, w, pos)
	}
	slo := stats[winSLO]
	is.SLI = slo.SLI
	is.ErrorBudgetRemaining = 1 - slo.BurnRate
	return is
}
