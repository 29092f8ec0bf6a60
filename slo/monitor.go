package slo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/aragora/resilience/policy"
)

// Monitor measures calls against an [Objective]: it counts them in fixed
// memory, computes error budgets and burn rates over the SRE workbook's
// windows, and alerts when the budget burns too fast. It is a
// [policy.Policy] that only observes (it never refuses or changes a call),
// and it records calls made outside any pipeline through [Monitor.Record].
// A Monitor is safe for concurrent use.
type Monitor struct {
	name  string
	obj   Objective
	start time.Time // time reads are relative to it, on the monotonic clock

	mu     sync.Mutex
	last   int64 // the latest time seen, ns since start: time never runs back
	ws     *windows
	alerts [numIndicators]Alert
	held   [numIndicators]bool // a rule burns fast enough but lacks AlertMinCalls calls

	listeners listeners
	gauges    *gauges
}

var _ policy.Policy = (*Monitor)(nil)

// New returns a monitor named name (the slo attribute of its gauges) that
// holds calls to obj. It fails, with an error matching [ErrInvalid] that
// names the field, when name is empty or obj is invalid; the zero Objective
// is valid.
//
// The monitor registers its gauges at once (see the package documentation);
// [Monitor.Close] unregisters them.
func New(name string, obj Objective, opts ...Option) (*Monitor, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: name is empty", ErrInvalid)
	}
	obj, err := obj.normalize()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var cfg config
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if cfg.mp == nil {
		cfg.mp = otel.GetMeterProvider()
	}
	m := &Monitor{name: name, obj: obj, start: time.Now(), ws: newWindows(obj.Window)}
	m.gauges = m.registerGauges(cfg.mp)
	return m, nil
}

// Name returns the monitor's name: its policy name in telemetry and the slo
// attribute of its gauges.
func (m *Monitor) Name() string { return m.name }

// Objective returns the monitor's objective, defaults filled in.
func (m *Monitor) Objective() Objective { return m.obj }

// Record counts one call that ended with outcome after latency. Anything but
// [policy.Success] is a bad call for the availability indicator; a success
// slower than Objective.Latency is a bad call for the latency indicator,
// which counts successes only (a failure has no latency worth judging).
//
// Alert listeners run before Record returns, on its goroutine.
func (m *Monitor) Record(outcome policy.Outcome, latency time.Duration) {
	ch := m.record(outcome, latency, time.Now())
	m.listeners.notify(ch.list())
}

// Run implements [policy.Policy]: it runs the rest of the pipeline, records
// the outcome and latency of what ran, and returns its error unchanged.
//
// What counts: the error the rest of the pipeline returned, classified by
// [policy.OutcomeOf]. A panic is a bad call. A rejection by a policy inside
// the monitor (a breaker or bulkhead placed after it in the pipeline) is a
// bad call too: callers got no answer, and an SLO that ignored rejections
// would look healthiest while a breaker sheds all traffic. Put the monitor
// inside such policies to measure the backend alone, as package adapter
// does. A call whose caller cancelled its context (context.Canceled, with
// ctx done) is not recorded: the caller walked away, and the call says
// nothing about the backend. A deadline that ran out is a bad call.
//
// When an indicator's alert changes during the call, Run reports a
// [policy.EventSLOAlert] (From and To the alert states, Reason the
// indicator) and then calls the alert listeners.
func (m *Monitor) Run(ctx context.Context, ex policy.Execution) error {
	// Reading the clock can cost more than the rest of the bookkeeping, so
	// the start is read only when there is a latency to judge.
	var start time.Time
	if m.obj.Latency > 0 {
		start = time.Now()
	}
	err := ex.Next(ctx)
	if err != nil && errors.Is(ctx.Err(), context.Canceled) && errors.Is(err, context.Canceled) {
		return err
	}
	end := time.Now()
	var latency time.Duration
	if m.obj.Latency > 0 {
		latency = end.Sub(start)
	}
	ch := m.record(policy.OutcomeOf(err), latency, end)
	for _, c := range ch.list() {
		ex.Report(policy.Event{Kind: policy.EventSLOAlert, From: c.From.String(), To: c.To.String(), Reason: c.Indicator.String()})
	}
	m.listeners.notify(ch.list())
	return err
}

// OnAlertChange adds a listener called each time an indicator's alert
// changes, and returns a function that removes it. Listeners run after the
// monitor's lock is released, on the goroutine that noticed the change (the
// one that recorded a call, took a snapshot or collected the gauges); they
// must not block. Changes noticed by concurrent calls may reach a listener
// out of order: each carries its From and To. A nil fn is ignored. A listener
// that panics is recovered and its panic handed to otel.Handle, so that it
// cannot fail Record, Run, Snapshot or a scrape of the gauges, nor keep the
// other listeners from hearing the change.
//
// Alerts change when a call is recorded and when the monitor is read: a
// monitor without traffic notices that its alerts cleared at its next
// Snapshot or gauge collection.
func (m *Monitor) OnAlertChange(fn func(AlertChange)) (unsubscribe func()) {
	if fn == nil {
		return func() {}
	}
	return m.listeners.add(fn)
}

// Close unregisters the monitor's gauges. The monitor goes on recording and
// computing; Close exists for monitors that do not live as long as the
// program, such as those of tests.
func (m *Monitor) Close() error {
	if m.gauges == nil || m.gauges.reg == nil {
		return nil
	}
	return m.gauges.reg.Unregister()
}

// at returns the position of t in fine buckets, never before a time already
// seen: concurrent callers may take the lock in another order than they read
// the clock. Callers hold m.mu.
func (m *Monitor) at(t time.Time) float64 {
	ns := int64(t.Sub(m.start))
	if ns < m.last {
		ns = m.last
	}
	m.last = ns
	return m.ws.at(ns)
}

// changes are the alert changes one operation noticed: at most one per
// indicator, held in an array so that noticing none allocates nothing.
type changes struct {
	n int
	c [numIndicators]AlertChange
}

func (ch *changes) list() []AlertChange { return ch.c[:ch.n] }

func (m *Monitor) record(outcome policy.Outcome, latency time.Duration, now time.Time) changes {
	bad := outcome != policy.Success
	slow := !bad && m.obj.Latency > 0 && latency > m.obj.Latency
	var ch changes
	m.mu.Lock()
	pos := m.at(now)
	ticked := m.ws.advance(pos)
	m.ws.record(bad, slow)
	// A bad call can raise an alert, and a good one lower it; a good call
	// can also raise one that only lacked Objective.AlertMinCalls calls
	// (held). Time moving on can do either. So alerts are evaluated when a
	// fine bucket completes (every 5s for a 30-day window), after a bad call
	// that could raise them, and after a good call while a rule is held: a
	// raise is seen by the call that makes it due, a clear at most one fine
	// bucket late.
	var check [numIndicators]bool
	check[Availability] = ticked || (bad || m.held[Availability]) && m.alerts[Availability] < AlertPage
	check[Latency] = m.obj.Latency > 0 && (ticked || (slow || !bad && m.held[Latency]) && m.alerts[Latency] < AlertPage)
	if check[Availability] || check[Latency] {
		m.evaluate(pos, check, &ch)
	}
	m.mu.Unlock()
	return ch
}

// evaluate updates the alerts of the indicators in check, noting changes in
// ch. Callers hold m.mu, with the windows advanced to pos.
func (m *Monitor) evaluate(pos float64, check [numIndicators]bool, ch *changes) {
	for ind := range numIndicators {
		if !check[ind] {
			continue
		}
		var burns, calls [numWindows]float64
		for w := range win3d + 1 {
			calls[w], _, _, burns[w] = m.window(ind, w, pos)
		}
		a, held := alertOf(&burns, &calls, m.obj.AlertMinCalls)
		m.held[ind] = held
		if from := m.alerts[ind]; a != from {
			m.alerts[ind] = a
			ch.c[ch.n] = AlertChange{SLO: m.name, Indicator: ind, From: from, To: a}
			ch.n++
		}
	}
}

// window returns what indicator ind counts over window w at pos: its calls
// (all recorded calls for availability, the successful ones for latency), the
// bad ones among them, its SLI and its burn rate. A window without calls has
// an SLI of 1 and a burn rate of 0: nothing failed in it.
func (m *Monitor) window(ind Indicator, w int, pos float64) (calls, bad, sli, burn float64) {
	total, failed, slow := m.ws.estimate(w, pos)
	calls, bad, budget := total, failed, 1-m.obj.Availability
	if ind == Latency {
		calls, bad, budget = total-failed, slow, 1-m.obj.LatencyTarget
	}
	if calls <= 0 {
		return 0, 0, 1, 0
	}
	share := bad / calls
	return calls, bad, 1 - share, share / budget
}
