package slo_test

import (
	"math"
	"testing"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/slo"
)

// batch is one burst of synthetic traffic: calls calls at the same instant,
// of which bad fail and slow (among the others) succeed after a second.
type batch struct{ calls, bad, slow int }

func (b batch) record(m *slo.Monitor) {
	for i := range b.calls {
		switch {
		case i < b.bad:
			m.Record(policy.Failure, time.Millisecond)
		case i < b.bad+b.slow:
			m.Record(policy.Success, time.Second)
		default:
			m.Record(policy.Success, time.Millisecond)
		}
	}
}

// traffic records b every period for d of (fake) time: the first batch now,
// the last one period before it returns.
func traffic(m *slo.Monitor, d, period time.Duration, b batch) {
	for range d / period {
		b.record(m)
		time.Sleep(period)
	}
}

func newMonitor(t *testing.T, name string, obj slo.Objective, opts ...slo.Option) *slo.Monitor {
	t.Helper()
	m, err := slo.New(name, obj, opts...)
	if err != nil {
		t.Fatalf("slo.New(%q, %+v): %v", name, obj, err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// burnRates returns an indicator's burn rates by window label.
func burnRates(is slo.IndicatorSnapshot) map[string]float64 {
	out := make(map[string]float64, len(is.Windows))
	for _, w := range is.Windows {
		out[w.Label] = w.BurnRate
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// transitions collects a monitor's alert changes with the (fake) time since
// start at which each was seen.
type transition struct {
	at       time.Duration
	ind      slo.Indicator
	from, to slo.Alert
}

func watch(m *slo.Monitor, start time.Time) *[]transition {
	var ts []transition
	m.OnAlertChange(func(c slo.AlertChange) {
		ts = append(ts, transition{time.Since(start), c.Indicator, c.From, c.To})
	})
	return &ts
}
