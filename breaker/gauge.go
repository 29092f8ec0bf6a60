package breaker

import (
	"context"
	"reflect"
	"runtime"
	"sync"
	"weak"

	"github.com/aragora/resilience/policy"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
)

// MetricState is the name of the gauge of breaker states: for each breaker
// name (attribute breaker) and each state (attribute state, the State's
// String), the number of the meter provider's live breakers of that name in
// that state. With one breaker per name, as names should be, that is 1 for
// the breaker's current state and 0 for the others. Breakers that share a
// name add up, so that none hides another: two breakers named "dup", one
// open and one closed, show open 1 and closed 1. It is an observable gauge:
// its value is read from the breakers at each collection, so it is right at
// every scrape, not only after changes of state. The Prometheus exporter
// names it resilience_breaker_state.
const MetricState = "resilience.breaker.state"

// The gauge is one observable instrument per meter provider, registered when
// the provider's first breaker is made, whose callback observes the
// provider's live breakers. It holds them weakly: a breaker that nothing else
// refers to is garbage collected, and leaves the gauge. When the last one has
// gone, the callback is unregistered.
var gauges struct {
	mu   sync.Mutex
	sets map[metric.MeterProvider]*gaugeSet // providers of comparable types
}

// gaugeSet is the gauge of one meter provider and the breakers it observes.
type gaugeSet struct {
	mp     metric.MeterProvider
	shared bool // in gauges.sets
	gauge  metric.Int64ObservableGauge
	reg    metric.Registration // nil when registering failed

	mu   sync.Mutex
	next uint64
	live map[uint64]weak.Pointer[Breaker]
}

// track adds b to the gauge of mp, or of the global provider when mp is nil.
func track(b *Breaker, mp metric.MeterProvider) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if _, ok := mp.(metricnoop.MeterProvider); ok {
		return
	}
	for s := range numStates {
		b.gaugeOpts[s] = metric.WithAttributeSet(attribute.NewSet(
			attribute.String("breaker", b.name),
			attribute.String("state", s.String())))
	}
	if !reflect.TypeOf(mp).Comparable() {
		// Such a provider cannot key a map: it gets a gauge of its own.
		newGaugeSet(mp).add(b)
		return
	}
	gauges.mu.Lock()
	defer gauges.mu.Unlock()
	set := gauges.sets[mp]
	if set == nil {
		set = newGaugeSet(mp)
		set.shared = true
		if gauges.sets == nil {
			gauges.sets = make(map[metric.MeterProvider]*gaugeSet)
		}
		gauges.sets[mp] = set
	}
	set.add(b)
}

func newGaugeSet(mp metric.MeterProvider) *gaugeSet {
	set := &gaugeSet{mp: mp, live: make(map[uint64]weak.Pointer[Breaker])}
	meter := mp.Meter(policy.ScopeName, metric.WithInstrumentationVersion(policy.Version))
	var err error
	set.gauge, err = meter.Int64ObservableGauge(MetricState,
		metric.WithUnit("{state}"),
		metric.WithDescription("State of each circuit breaker: 1 for its current state, 0 for the others."))
	if err != nil {
		otel.Handle(err) // the instrument still works, as a no-op
	}
	set.reg, err = meter.RegisterCallback(set.observe, set.gauge)
	if err != nil {
		otel.Handle(err)
	}
	return set
}

// add observes b until it is garbage collected. The caller holds gauges.mu
// when set is shared.
func (set *gaugeSet) add(b *Breaker) {
	set.mu.Lock()
	id := set.next
	set.next++
	set.live[id] = weak.Make(b)
	set.mu.Unlock()
	runtime.AddCleanup(b, set.remove, id)
}

// remove forgets the collected breaker id, and drops the gauge when no
// breaker is left.
func (set *gaugeSet) remove(id uint64) {
	gauges.mu.Lock()
	defer gauges.mu.Unlock()
	set.mu.Lock()
	delete(set.live, id)
	empty := len(set.live) == 0
	set.mu.Unlock()
	if !empty {
		return
	}
	if set.shared && gauges.sets[set.mp] == set {
		delete(gauges.sets, set.mp)
	}
	if set.reg != nil {
		if err := set.reg.Unregister(); err != nil {
			otel.Handle(err)
		}
	}
}

// observe is the gauge's callback: for each name, the number of live
// breakers in each state.
func (set *gaugeSet) observe(_ context.Context, o metric.Observer) error {
	type tally struct {
		opts *[numStates]metric.ObserveOption
		n    [numStates]int64
	}
	set.mu.Lock()
	byName := make(map[string]*tally, len(set.live))
	for _, p := range set.live {
		b := p.Value()
		if b == nil {
			continue // collected; its cleanup is on its way
		}
		t := byName[b.name]
		if t == nil {
			t = &tally{opts: &b.gaugeOpts}
			byName[b.name] = t
		}
		t.n[b.State()]++
	}
	set.mu.Unlock()
	for _, t := range byName {
		for s := range numStates {
			o.ObserveInt64(set.gauge, t.n[s], t.opts[s])
		}
	}
	return nil
}
