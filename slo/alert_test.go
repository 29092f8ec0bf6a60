package slo_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/slo"
)

// expect checks transitions against the workbook's arithmetic. Each expected
// time is where a burn rate crosses its threshold with uniform traffic; the
// monitor may see it up to one bucket of the deciding window (1/60 of it)
// plus one batch of traffic away.
type expected struct {
	at, slack time.Duration
	from, to  slo.Alert
}

func checkTransitions(t *testing.T, got []transition, want []expected) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got transitions %+v, want %+v", got, want)
	}
	for i, w := range want {
		g := got[i]
		if g.from != w.from || g.to != w.to || g.at < w.at-w.slack || g.at > w.at+w.slack {
			t.Errorf("transition %d: %v→%v at %v; want %v→%v at %v ± %v", i, g.from, g.to, g.at, w.from, w.to, w.at, w.slack)
		}
	}
}

func TestPageFiresAndClearsWhenTheWorkbookSays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		m := newMonitor(t, "api", slo.Objective{Availability: 0.999})
		got := watch(m, start)

		traffic(m, 3*day, time.Minute, batch{calls: 100})
		// Two hours at 2% errors: a burn rate of 20. The 1h window exceeds
		// 14.4 once 72% of it is bad (43.2 minutes in); the 5m one is past
		// it by then.
		traffic(m, 2*time.Hour, time.Minute, batch{calls: 100, bad: 2})
		// Back to clean: the 5m window clears the 1h rule within two minutes,
		// but the 6h window still burns at 20×2/6 = 6.67 > 6, so the page
		// holds until the 30m window falls under 6: 21 minutes after.
		traffic(m, 6*time.Hour, time.Minute, batch{calls: 100})

		outage := 3 * day
		checkTransitions(t, *got, []expected{
			{outage + 43*time.Minute + 12*time.Second, time.Hour/60 + time.Minute, slo.AlertNone, slo.AlertPage},
			{outage + 2*time.Hour + 21*time.Minute, 30*time.Minute/60 + time.Minute, slo.AlertPage, slo.AlertNone},
		})
	})
}

func TestTicketFiresForASlowBurnAndNeverPages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		m := newMonitor(t, "api", slo.Objective{Availability: 0.999})
		got := watch(m, start)

		traffic(m, 3*day, time.Minute, batch{calls: 200})
		// Sixteen hours at 0.5% errors: a burn rate of 5, under both page
		// thresholds. The 1d window passes 3 (and the 3d window passes 1)
		// once 14.4 hours of it are bad.
		traffic(m, 16*time.Hour, time.Minute, batch{calls: 200, bad: 1})
		// Back to clean: the 2h window drops under 3 after 48 minutes, but
		// the 3d window still burns at 5×16/72 = 1.11 > 1, so the ticket
		// holds until the 6h window drops under 1: 4.8 hours after.
		traffic(m, 12*time.Hour, time.Minute, batch{calls: 200})

		outage := 3 * day
		checkTransitions(t, *got, []expected{
			{outage + 14*time.Hour + 24*time.Minute, day/60 + time.Minute, slo.AlertNone, slo.AlertTicket},
			{outage + 16*time.Hour + 4*time.Hour + 48*time.Minute, 6*time.Hour/60 + time.Minute, slo.AlertTicket, slo.AlertNone},
		})
	})
}

// The alert windows scale with the objective's: over 7 days, a total outage
// pages once 2% of the budget is gone, as it does over 30 days.
func TestAlertsScaleWithTheObjectiveWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		m := newMonitor(t, "api", slo.Objective{Availability: 0.99, Window: 7 * day})
		got := watch(m, start)
		traffic(m, 2*day, 10*time.Second, batch{calls: 10})
		// All calls failing burns at 100: the 14-minute window passes 14.4
		// once 14.4% of it is bad, after about 2 minutes.
		traffic(m, 10*time.Minute, 10*time.Second, batch{calls: 10, bad: 10})
		if len(*got) == 0 {
			t.Fatal("no alert after 10 minutes of total outage")
		}
		first := (*got)[0]
		want := 2*day + 121*time.Second // 14.4% of 14 minutes
		if first.to != slo.AlertPage || first.at < want-30*time.Second || first.at > want+30*time.Second {
			t.Errorf("first transition %+v; want a page at %v", first, want)
		}
	})
}

// With no traffic there is no call to notice a clear: the next read does.
func TestAClearIsNoticedByTheNextReadWithoutTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		m := newMonitor(t, "api", slo.Objective{})
		got := watch(m, start)
		traffic(m, time.Hour, time.Minute, batch{calls: 100})
		traffic(m, 10*time.Minute, time.Minute, batch{calls: 100, bad: 100})
		if s := m.Snapshot(); s.Alert != slo.AlertPage {
			t.Fatalf("alert after a total outage = %v, want page", s.Alert)
		}
		seen := len(*got)

		// Then silence. The ticket rule over 3d and 6h holds until the 6h
		// window has no bad call left: its oldest bucket (6 minutes) leaves
		// it 6h12m after the outage began, at 7h12m.
		time.Sleep(6*time.Hour + 5*time.Minute)
		if len(*got) != seen {
			t.Fatalf("transitions during the silence, with no read: %+v", (*got)[seen:])
		}
		if s := m.Snapshot(); s.Alert != slo.AlertNone {
			t.Fatalf("alert once the 6h window is empty = %v, want none", s.Alert)
		}
		want := transition{at: 7*time.Hour + 15*time.Minute, ind: slo.Availability, from: slo.AlertPage, to: slo.AlertNone}
		if len(*got) != seen+1 || (*got)[seen] != want {
			t.Errorf("transitions after the read = %+v; want %+v, noticed by the Snapshot", (*got)[seen:], want)
		}
	})
}

func TestLatencyAlertsOnItsOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMonitor(t, "api", slo.Objective{Latency: 300 * time.Millisecond, LatencyTarget: 0.99})
		var changes []slo.AlertChange
		m.OnAlertChange(func(c slo.AlertChange) { changes = append(changes, c) })
		traffic(m, time.Hour, time.Minute, batch{calls: 10})
		traffic(m, time.Hour, time.Minute, batch{calls: 10, slow: 10}) // a burn rate of 100
		s := m.Snapshot()
		if s.Latency.Alert != slo.AlertPage || s.Availability.Alert != slo.AlertNone || s.Alert != slo.AlertPage {
			t.Errorf("alerts: latency %v, availability %v, overall %v; want page, none, page",
				s.Latency.Alert, s.Availability.Alert, s.Alert)
		}
		// The first slow calls raise a ticket, the next ones (at the same
		// instant) a page.
		want := []slo.AlertChange{
			{SLO: "api", Indicator: slo.Latency, From: slo.AlertNone, To: slo.AlertTicket},
			{SLO: "api", Indicator: slo.Latency, From: slo.AlertTicket, To: slo.AlertPage},
		}
		if len(changes) != len(want) || changes[0] != want[0] || changes[1] != want[1] {
			t.Errorf("changes = %+v; want %+v", changes, want)
		}
	})
}

func TestUnsubscribedListenersHearNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMonitor(t, "api", slo.Objective{})
		var kept, dropped int
		m.OnAlertChange(func(slo.AlertChange) { kept++ })
		unsubscribe := m.OnAlertChange(func(slo.AlertChange) { dropped++ })
		m.OnAlertChange(nil) // ignored
		unsubscribe()
		unsubscribe() // idempotent
		m.Record(policy.Failure, 0)
		if kept != 1 || dropped != 0 {
			t.Errorf("listeners called %d and %d times; want 1 and 0", kept, dropped)
		}
	})
}

// Listeners run after the monitor's lock is released: they may read it.
func TestListenersMayReadTheMonitor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMonitor(t, "api", slo.Objective{})
		var seen slo.Alert
		m.OnAlertChange(func(c slo.AlertChange) {
			m.Record(policy.Success, 0)
			seen = m.Snapshot().Alert
		})
		m.Record(policy.Failure, 0)
		if seen != slo.AlertPage {
			t.Errorf("listener saw %v, want page", seen)
		}
	})
}

func TestAlertMinCallsKeepsAQuietServiceFromPaging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		quiet := batch{calls: 1} // one call a minute: 60 an hour
		oneBad := batch{calls: 1, bad: 1}
		for _, tt := range []struct {
			name     string
			minCalls int
			pages    bool
		}{
			{"the workbook's rules as they are", 0, true},
			{"a minimum no window of the quiet service reaches", 1000, false},
		} {
			start := time.Now()
			m := newMonitor(t, "quiet", slo.Objective{Availability: 0.999, AlertMinCalls: tt.minCalls})
			got := watch(m, start)
			traffic(m, 2*time.Hour, time.Minute, quiet)
			traffic(m, 5*time.Minute, time.Minute, oneBad) // 5 failures in 5 minutes
			traffic(m, 10*time.Minute, time.Minute, quiet)
			paged := false
			for _, tr := range *got {
				paged = paged || tr.to == slo.AlertPage
			}
			if paged != tt.pages {
				t.Errorf("%s: paged = %v (transitions %+v), want %v", tt.name, paged, *got, tt.pages)
			}
		}

		// Enough traffic meets the minimum, and the rules apply again.
		start := time.Now()
		m := newMonitor(t, "busy", slo.Objective{Availability: 0.999, AlertMinCalls: 1000})
		got := watch(m, start)
		traffic(m, 2*time.Hour, time.Minute, batch{calls: 20}) // 1200 calls an hour
		traffic(m, 10*time.Minute, time.Minute, batch{calls: 20, bad: 10})
		paged := false
		for _, tr := range *got {
			paged = paged || tr.to == slo.AlertPage
		}
		if !paged {
			t.Errorf("busy service: transitions %+v, want a page", *got)
		}
	})
}

// With AlertMinCalls, the good call that brings a long window up to the
// minimum can make an alert due: it is raised before that Record returns.
func TestAGoodCallThatReachesAlertMinCallsRaisesTheAlert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMonitor(t, "api", slo.Objective{AlertMinCalls: 10})
		var changes []slo.AlertChange
		m.OnAlertChange(func(c slo.AlertChange) { changes = append(changes, c) })
		for range 9 {
			m.Record(policy.Failure, time.Millisecond)
		}
		require.Empty(t, changes, "an alert with 9 calls, fewer than AlertMinCalls")

		m.Record(policy.Success, time.Millisecond) // 10 calls, 90% bad: burn 900 over 1h and 5m
		assert.Equal(t, []slo.AlertChange{{SLO: "api", Indicator: slo.Availability, From: slo.AlertNone, To: slo.AlertPage}},
			changes, "heard by the end of the 10th Record")
		assert.Equal(t, slo.AlertPage, m.Snapshot().Alert)
		assert.Len(t, changes, 1, "the page is heard once")
	})
}

// The same holds for the latency indicator: a fast success can bring its
// long window (successful calls) up to the minimum.
func TestAFastCallThatReachesAlertMinCallsRaisesTheLatencyAlert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMonitor(t, "api", slo.Objective{Latency: 100 * time.Millisecond, AlertMinCalls: 10})
		var changes []slo.AlertChange
		m.OnAlertChange(func(c slo.AlertChange) { changes = append(changes, c) })
		for range 9 {
			m.Record(policy.Success, time.Second) // slow
		}
		require.Empty(t, changes)
		m.Record(policy.Success, time.Millisecond)
		assert.Equal(t, []slo.AlertChange{{SLO: "api", Indicator: slo.Latency, From: slo.AlertNone, To: slo.AlertPage}}, changes)
	})
}

// A listener that panics is recovered and its panic handed to otel.Handle,
// wherever the change was noticed: in Record, in Snapshot, or in a scrape of
// the gauges. Other listeners still hear every change.
func TestAPanickingAlertListenerIsContained(t *testing.T) {
	var handled []error
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { handled = append(handled, err) }))
	defer otel.SetErrorHandler(prev)

	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		m := newMonitor(t, "api", slo.Objective{}, slo.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
		m.OnAlertChange(func(slo.AlertChange) { panic("listener bug") })
		var heard []slo.Alert
		m.OnAlertChange(func(c slo.AlertChange) { heard = append(heard, c.To) })

		require.NotPanics(t, func() { m.Record(policy.Failure, time.Millisecond) }, "Record") // page
		time.Sleep(2 * time.Hour)
		require.NotPanics(t, func() { m.Snapshot() }, "Snapshot") // the page drops to a ticket
		m.Record(policy.Failure, time.Millisecond)                // page again
		time.Sleep(2 * time.Hour)
		require.NotPanics(t, func() { gauges(t, reader) }, "a scrape") // and drops again

		assert.Equal(t, []slo.Alert{slo.AlertPage, slo.AlertTicket, slo.AlertPage, slo.AlertTicket}, heard)
		require.Len(t, handled, 4)
		for _, err := range handled {
			assert.ErrorContains(t, err, "slo: alert listener panicked: listener bug")
		}
	})
}
