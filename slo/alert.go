package slo

import (
	"fmt"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel"
)

// Alert is the state of an indicator's multiwindow, multi-burn-rate alert,
// from the Google SRE workbook ("Alerting on SLOs"). Alerts are ordered:
// a greater Alert is more urgent.
type Alert uint8

// The alert states. For a 30-day objective:
//
//	page   when the burn rate exceeds 14.4 over 1h and over 5m (2% of the budget spent in an hour),
//	       or exceeds 6 over 6h and over 30m (5% in six hours);
//	ticket when it exceeds 3 over 1d and over 2h (10% in a day),
//	       or exceeds 1 over 3d and over 6h (10% in three days).
//
// The long window makes an alert significant, the short one makes it clear
// soon after the burning stops. For another objective window, the windows
// scale in proportion and the burn rates stay, so that each rule still means
// the same share of the budget.
const (
	AlertNone   Alert = iota // the budget burns no faster than the rules allow
	AlertTicket              // the budget will run out before the window ends: look into it
	AlertPage                // the budget is going fast: act now
)

// String returns "none", "ticket" or "page".
func (a Alert) String() string {
	switch a {
	case AlertNone:
		return "none"
	case AlertTicket:
		return "ticket"
	case AlertPage:
		return "page"
	}
	return "unknown"
}

// MarshalText encodes a as its String, for health endpoints that serve JSON.
func (a Alert) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// A rule of the SRE workbook: alert at severity when the burn rate exceeds
// burn over both the long and the short window.
type rule struct {
	severity    Alert
	long, short int
	burn        float64
}

var rules = [...]rule{
	{AlertPage, win1h, win5m, 14.4}, // 2% of the budget in an hour
	{AlertPage, win6h, win30m, 6},   // 5% of the budget in six hours
	{AlertTicket, win1d, win2h, 3},  // 10% of the budget in a day
	{AlertTicket, win3d, win6h, 1},  // 10% of the budget in three days
}

// alertOf applies the workbook's rules to an indicator's burn rates, and
// calls per window: a rule whose long window holds fewer than minCalls calls
// stays quiet. held reports whether such a rule, more severe than the alert
// returned, burns fast enough and is held back by minCalls alone: then one
// more good call, which lowers no burn rate below its threshold at once but
// adds a call, may raise the alert.
func alertOf(burns, calls *[numWindows]float64, minCalls int) (a Alert, held bool) {
	gated := AlertNone // the most severe rule held back by minCalls alone
	for _, r := range rules {
		if burns[r.long] <= r.burn || burns[r.short] <= r.burn {
			continue
		}
		if calls[r.long] >= float64(minCalls) {
			a = max(a, r.severity)
		} else {
			gated = max(gated, r.severity)
		}
	}
	return a, gated > a
}

// AlertChange is what alert listeners receive: one indicator's alert went
// from From to To.
type AlertChange struct {
	SLO       string    // the monitor's name
	Indicator Indicator // the indicator whose alert changed
	From, To  Alert
}

// listeners is a copy-on-write list of alert listeners: notifying reads it
// with one atomic load and holds no lock while the listeners run.
type listeners struct {
	mu   sync.Mutex
	next uint64
	list atomic.Pointer[[]listener]
}

type listener struct {
	id uint64
	fn func(AlertChange)
}

func (ls *listeners) add(fn func(AlertChange)) (remove func()) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.next++
	id := ls.next
	var list []listener
	if p := ls.list.Load(); p != nil {
		list = append(list, *p...)
	}
	list = append(list, listener{id, fn})
	ls.list.Store(&list)
	return func() { ls.remove(id) }
}

func (ls *listeners) remove(id uint64) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	p := ls.list.Load()
	if p == nil {
		return
	}
	list := make([]listener, 0, len(*p))
	for _, l := range *p {
		if l.id != id {
			list = append(list, l)
		}
	}
	ls.list.Store(&list)
}

func (ls *listeners) notify(changes []AlertChange) {
	if len(changes) == 0 {
		return
	}
	p := ls.list.Load()
	if p == nil {
		return
	}
	for _, c := range changes {
		for _, l := range *p {
			notifyOne(l.fn, c)
		}
	}
}

// notifyOne calls fn with c. A panic in fn goes to otel.Handle, so that a
// faulty listener can neither fail the call being recorded nor a scrape of
// the gauges, nor keep the other listeners from hearing c.
func notifyOne(fn func(AlertChange), c AlertChange) {
	defer func() {
		if v := recover(); v != nil {
			otel.Handle(fmt.Errorf("slo: alert listener panicked: %v", v))
		}
	}()
	fn(c)
}
