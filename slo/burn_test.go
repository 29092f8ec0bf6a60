package slo_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/slo"
)

const day = 24 * time.Hour

// One percent of calls failing against a 99.9% target burns the budget ten
// times too fast, over every window, once traffic has filled them all.
func TestOnePercentErrorsBurnTenTimesInEveryWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMonitor(t, "api", slo.Objective{Availability: 0.999})
		traffic(m, 30*day, 5*time.Minute, batch{calls: 100, bad: 1})

		s := m.Snapshot()
		if len(s.Availability.Windows) != 8 {
			t.Fatalf("got %d windows, want 8", len(s.Availability.Windows))
		}
		for _, w := range s.Availability.Windows {
			if !near(w.BurnRate, 10) || !near(w.SLI, 0.99) {
				t.Errorf("window %s: burn rate %v, SLI %v; want 10 and 0.99", w.Label, w.BurnRate, w.SLI)
			}
			if wantCalls := 100 * float64(w.Window/(5*time.Minute)); !near(w.Calls, wantCalls) {
				t.Errorf("window %s: %v calls, want %v", w.Label, w.Calls, wantCalls)
			}
		}
		if !near(s.Availability.ErrorBudgetRemaining, -9) {
			t.Errorf("budget remaining = %v, want -9 (spent ten times over)", s.Availability.ErrorBudgetRemaining)
		}
		if s.Alert != slo.AlertPage {
			t.Errorf("alert = %v, want page (10 > 6 over 6h and 30m)", s.Alert)
		}

		// Twelve clean hours later, each window burns in proportion to the
		// share of it that still holds the bad traffic.
		traffic(m, 12*time.Hour, 5*time.Minute, batch{calls: 100})
		want := map[string]float64{
			"5m": 0, "30m": 0, "1h": 0, "2h": 0, "6h": 0,
			"1d":  10 * 12.0 / 24,
			"3d":  10 * 60.0 / 72,
			"30d": 10 * (720.0 - 12) / 720,
		}
		for label, got := range burnRates(m.Snapshot().Availability) {
			if !near(got, want[label]) {
				t.Errorf("after 12 clean hours, window %s burns %v, want %v", label, got, want[label])
			}
		}
	})
}

// The error budget remaining is 1 − bad/allowed over the objective's window,
// and comes back as bad calls age out of it.
func TestErrorBudgetRemainingFallsAndRecoversAsComputed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMonitor(t, "api", slo.Objective{Availability: 0.999})
		const perDay = 288 * 100 // calls a day: 100 every 5 minutes
		budget := func(calls, bad float64) float64 { return 1 - bad/(0.001*calls) }

		steps := []struct {
			name   string
			d      time.Duration
			b      batch
			remain float64
		}{
			{"ten clean days leave it whole", 10 * day, batch{calls: 100}, 1},
			{"half a day at 1% spends most of it", 12 * time.Hour, batch{calls: 100, bad: 1}, budget(10.5*perDay, 144)},
			{"the window filling with good calls dilutes the loss", 19*day + 12*time.Hour, batch{calls: 100}, budget(30*perDay, 144)},
			{"half the bad patch has left the window", 10*day + 6*time.Hour, batch{calls: 100}, budget(30*perDay, 72)},
			{"all of it has left", 6 * time.Hour, batch{calls: 100}, 1},
		}
		for _, st := range steps {
			traffic(m, st.d, 5*time.Minute, st.b)
			got := m.Snapshot().Availability.ErrorBudgetRemaining
			if !near(got, st.remain) {
				t.Errorf("%s: budget remaining = %v, want %v", st.name, got, st.remain)
			}
		}
	})
}

// Windows count only their own span: fresh failures show at once in the
// short windows and are diluted in the long ones.
func TestShortWindowsSeeFreshFailuresFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMonitor(t, "api", slo.Objective{Availability: 0.99})
		traffic(m, 3*day, time.Minute, batch{calls: 10})
		traffic(m, 30*time.Minute, time.Minute, batch{calls: 10, bad: 10})
		got := burnRates(m.Snapshot().Availability)
		want := map[string]float64{
			"5m": 100, "30m": 100, "1h": 50, "2h": 25, "6h": 100.0 / 12,
			"1d": 100.0 / 48, "3d": 100.0 / 144, "30d": 100.0 / 145,
		}
		for label, w := range want {
			if !near(got[label], w) {
				t.Errorf("window %s burns %v, want %v", label, got[label], w)
			}
		}
	})
}

func TestLatencyCountsSuccessesOverTheThreshold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMonitor(t, "api", slo.Objective{Latency: 300 * time.Millisecond, LatencyTarget: 0.99})
		// Of 100 calls, 20 fail and 4 of the 80 successes are slow: 5% slow.
		batch{calls: 100, bad: 20, slow: 4}.record(m)
		s := m.Snapshot()
		w := s.Latency.Windows[0]
		if !near(w.Calls, 80) || !near(w.Bad, 4) || !near(w.SLI, 0.95) || !near(w.BurnRate, 5) {
			t.Errorf("latency over %s = %+v; want 80 calls, 4 bad, SLI 0.95, burn rate 5", w.Label, w)
		}
		if a := s.Availability.Windows[0]; !near(a.Calls, 100) || !near(a.BurnRate, 0.2/0.001) {
			t.Errorf("availability over %s = %+v; want 100 calls and burn rate 200", a.Label, a)
		}
	})
}

func TestEmptyWindowsAreHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMonitor(t, "api", slo.Objective{Latency: time.Second})
		s := m.Snapshot()
		for _, is := range []slo.IndicatorSnapshot{s.Availability, *s.Latency} {
			if is.SLI != 1 || is.ErrorBudgetRemaining != 1 || is.Alert != slo.AlertNone {
				t.Errorf("%v of a fresh monitor: SLI %v, budget %v, alert %v; want 1, 1, none",
					is.Indicator, is.SLI, is.ErrorBudgetRemaining, is.Alert)
			}
			for _, w := range is.Windows {
				if w.Calls != 0 || w.BurnRate != 0 || w.SLI != 1 {
					t.Errorf("%v over %s: %+v; want no calls, burn 0, SLI 1", is.Indicator, w.Label, w)
				}
			}
		}
		// All failures, then silence: once the windows are empty again, they are healthy.
		batch{calls: 10, bad: 10}.record(m)
		time.Sleep(31 * day)
		if got := m.Snapshot().Availability.ErrorBudgetRemaining; got != 1 {
			t.Errorf("a month after the last call, budget remaining = %v, want 1", got)
		}
	})
}
