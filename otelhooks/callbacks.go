package otelhooks

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aragora/resilience/policy"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The names of the instruments [MetricsCallbacks] records, after the
// namespace and a dot: with the namespace "aragora", RetryAttempt adds to
// aragora.retry.attempts, which Prometheus shows as aragora_retry_attempts_total.
const (
	MetricBreakerStateChanges = "circuit_breaker.state_changes" // counter, {change}: breaker, from, to
	MetricBreakerState        = "circuit_breaker.state"         // gauge: breaker, state (1 for the current state, 0 for the others seen)
	MetricRetryAttempts       = "retry.attempts"                // counter, {retry}: operation
	MetricRetryDelay          = "retry.delay"                   // histogram, s: operation
	MetricRetryExhausted      = "retry.exhausted"               // counter, {exhaustion}: operation
	MetricTimeouts            = "timeouts"                      // counter, {timeout}: operation
	MetricTimeoutDuration     = "timeout.duration"              // histogram, s: operation (the limit that ran out)
	MetricHealthStatusChanges = "health.status_changes"         // counter, {change}: check, from, to
	MetricHealthStatus        = "health.status"                 // gauge: check, status (1 for the current status, 0 for the others seen)
)

// The attribute keys of the instruments of [MetricsCallbacks]. Their values
// come from code (breaker, operation and check names, state words), so the
// number of series stays bounded.
const (
	AttrBreaker   = attribute.Key("breaker")
	AttrOperation = attribute.Key("operation")
	AttrCheck     = attribute.Key("check")
	AttrFrom      = attribute.Key("from")
	AttrTo        = attribute.Key("to")
	AttrState     = attribute.Key("state")
	AttrStatus    = attribute.Key("status")
)

// secondsBuckets are the bounds of the histograms of waits and limits, in
// seconds: from a millisecond to a minute.
var secondsBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// namespacePattern is what OpenTelemetry allows at the start of an instrument
// name, less the characters Prometheus would have to escape.
var namespacePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)

// MetricsCallbacks turns what the policies' listeners hear into OpenTelemetry
// metrics, under a namespace of the application's: breaker state changes
// (a counter and a state gauge), retries (a counter and a histogram of their
// delays), exhausted retries (a counter), time limits that ran out (a counter
// and a histogram of the limits) and health status changes (a counter and a
// status gauge). Each of its five methods has the shape of the listener that
// the breaker, retry, timeout or health package takes, so a method value can
// be passed as a listener directly; [RetryOptions], [TimeoutOption],
// [ObserveBreaker], [ObserveBreakers] and [ObserveHealth] attach them in one
// call. It is safe for concurrent use.
//
// These metrics count what the listeners hear, per breaker, operation or
// check; the pipelines themselves record executions, attempts and events
// (resilience.events) with the pipeline and policy as attributes. Use both, or
// either.
type MetricsCallbacks struct {
	stateChanges  metric.Int64Counter
	breakerState  metric.Int64Gauge
	retries       metric.Int64Counter
	retryDelay    metric.Float64Histogram
	exhausted     metric.Int64Counter
	timeouts      metric.Int64Counter
	timeoutLimit  metric.Float64Histogram
	healthChanges metric.Int64Counter
	healthStatus  metric.Int64Gauge

	breakers stateTable // current state of each breaker
	checks   stateTable // current status of each health check

	// Attribute sets by operation name: retries and timeouts can be frequent,
	// and their attributes never change.
	ops sync.Map // string → metric.MeasurementOption
}

// NewMetricsCallbacks returns callbacks that record on instruments whose names
// start with namespace and a dot (see the Metric constants). The namespace is
// required: it starts with a letter and holds at most 64 letters, digits,
// underscores, dots and dashes.
//
// Prometheus shows '.' and '-' as '_', and a run of them as one '_', so
// namespaces that differ only there map to one name: "aragora-kb",
// "aragora_kb" and "aragora.kb" all give aragora_kb_timeouts_total, and
// callbacks under two of them in one program share its series, of which the
// exporter serves one namespace's values only. For the same reason a
// namespace that Prometheus shows as "resilience" is refused, "resilience",
// "resilience." and "resilience-" alike: its names would collide with the
// library's own, such as resilience_health_status.
//
// The meter is the global provider's, unless [WithMeterProvider] says
// otherwise.
func NewMetricsCallbacks(namespace string, opts ...MetricsOption) (*MetricsCallbacks, error) {
	if !namespacePattern.MatchString(namespace) {
		if namespace == "" {
			return nil, fmt.Errorf("otelhooks: namespace is empty")
		}
		return nil, fmt.Errorf("otelhooks: namespace %q must start with a letter and hold at most 64 letters, digits, '_', '.' or '-'", namespace)
	}
	if promName(namespace) == "resilience" {
		// resilience.health.status is the health package's own gauge, with
		// other attributes: one Prometheus name for two series shapes.
		return nil, fmt.Errorf(`otelhooks: namespace %q is the library's own in Prometheus, "resilience"; choose your service's`, namespace)
	}
	cfg := metricsConfig{}
	for _, o := range opts {
		if o != nil {
			o.applyMetrics(&cfg)
		}
	}
	mp := cfg.mp
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(ScopeName, metric.WithInstrumentationVersion(policy.Version))
	name := func(s string) string { return namespace + "." + s }

	m := &MetricsCallbacks{}
	var errs [9]error
	m.stateChanges, errs[0] = meter.Int64Counter(name(MetricBreakerStateChanges),
		metric.WithUnit("{change}"),
		metric.WithDescription("State changes of circuit breakers."))
	m.breakerState, errs[1] = meter.Int64Gauge(name(MetricBreakerState),
		metric.WithDescription("Current state of each circuit breaker: 1 for the state it is in, 0 for the others it has been in."))
	m.retries, errs[2] = meter.Int64Counter(name(MetricRetryAttempts),
		metric.WithUnit("{retry}"),
		metric.WithDescription("Retries scheduled after a failed attempt."))
	m.retryDelay, errs[3] = meter.Float64Histogram(name(MetricRetryDelay),
		metric.WithUnit("s"),
		metric.WithDescription("Waits before retries."),
		metric.WithExplicitBucketBoundaries(secondsBuckets...))
	m.exhausted, errs[4] = meter.Int64Counter(name(MetricRetryExhausted),
		metric.WithUnit("{exhaustion}"),
		metric.WithDescription("Executions that failed after their last allowed attempt."))
	m.timeouts, errs[5] = meter.Int64Counter(name(MetricTimeouts),
		metric.WithUnit("{timeout}"),
		metric.WithDescription("Time limits that ran out."))
	m.timeoutLimit, errs[8] = meter.Float64Histogram(name(MetricTimeoutDuration),
		metric.WithUnit("s"),
		metric.WithDescription("Time limits that ran out, by their length."),
		metric.WithExplicitBucketBoundaries(secondsBuckets...))
	m.healthChanges, errs[6] = meter.Int64Counter(name(MetricHealthStatusChanges),
		metric.WithUnit("{change}"),
		metric.WithDescription("Status changes of health checks."))
	m.healthStatus, errs[7] = meter.Int64Gauge(name(MetricHealthStatus),
		metric.WithDescription("Current status of each health check: 1 for the status it has, 0 for the others it has had."))
	// An instrument that fails to build comes back as a working no-op one:
	// report the error the OpenTelemetry way and carry on.
	for _, err := range errs {
		if err != nil {
			otel.Handle(err)
		}
	}
	m.breakers.gauge, m.breakers.key, m.breakers.stateKey = m.breakerState, AttrBreaker, AttrState
	m.checks.gauge, m.checks.key, m.checks.stateKey = m.healthStatus, AttrCheck, AttrStatus
	return m, nil
}

// promName returns the name the Prometheus exporter gives namespace: '.' and
// '-' become '_', and runs of '_' become one, with none left at the end.
func promName(namespace string) string {
	var b strings.Builder
	under := false
	for _, r := range namespace {
		if r == '.' || r == '-' || r == '_' {
			under = true
			continue
		}
		if under && b.Len() > 0 {
			b.WriteByte('_')
		}
		under = false
		b.WriteRune(r)
	}
	return b.String()
}

// CircuitBreakerStateChanged records that the breaker name went from oldState
// to newState: it counts the change and moves the state gauge.
func (m *MetricsCallbacks) CircuitBreakerStateChanged(name, oldState, newState string) {
	m.stateChanges.Add(bg, 1, metric.WithAttributes(AttrBreaker.String(name), AttrFrom.String(oldState), AttrTo.String(newState)))
	m.breakers.set(name, oldState, newState)
}

// RetryAttempt records that operation will retry, as attempt attempt, after
// waiting delay. The attempt number is not an attribute, to keep one series
// per operation.
func (m *MetricsCallbacks) RetryAttempt(operation string, attempt int, delay time.Duration) {
	opt := m.op(operation)
	m.retries.Add(bg, 1, opt)
	m.retryDelay.Record(bg, delay.Seconds(), opt)
}

// RetryExhausted records that operation failed after attempts attempts, its
// last allowed one.
func (m *MetricsCallbacks) RetryExhausted(operation string, attempts int) {
	m.exhausted.Add(bg, 1, m.op(operation))
}

// TimeoutOccurred records that operation ran out of its time limit, duration:
// it counts the timeout and observes duration, in seconds, in the
// timeout.duration histogram.
func (m *MetricsCallbacks) TimeoutOccurred(operation string, duration time.Duration) {
	opt := m.op(operation)
	m.timeouts.Add(bg, 1, opt)
	m.timeoutLimit.Record(bg, duration.Seconds(), opt)
}

// HealthStatusChanged records that the health check name went from oldStatus
// to newStatus: it counts the change and moves the status gauge.
func (m *MetricsCallbacks) HealthStatusChanged(name, oldStatus, newStatus string) {
	m.healthChanges.Add(bg, 1, metric.WithAttributes(AttrCheck.String(name), AttrFrom.String(oldStatus), AttrTo.String(newStatus)))
	m.checks.set(name, oldStatus, newStatus)
}

// op returns the measurement option of an operation, built once.
func (m *MetricsCallbacks) op(operation string) metric.MeasurementOption {
	if v, ok := m.ops.Load(operation); ok {
		return v.(metric.MeasurementOption)
	}
	v, _ := m.ops.LoadOrStore(operation, metric.WithAttributeSet(attribute.NewSet(AttrOperation.String(operation))))
	return v.(metric.MeasurementOption)
}

// stateTable keeps the current state of named things (breakers, checks) and
// the states each has been in, so that the gauge shows 1 for the current state
// and 0 for the others. Listeners run outside the breakers' locks, so two
// changes of one breaker may arrive out of order: the table then follows the
// last one heard, and still shows exactly one current state.
type stateTable struct {
	gauge    metric.Int64Gauge
	key      attribute.Key // breaker or check
	stateKey attribute.Key // state or status

	mu    sync.Mutex
	named map[string]*stateEntry
}

type stateEntry struct {
	current string
	seen    map[string]metric.MeasurementOption // the attributes of each state seen
}

// init shows state as the current state of name, unless a change of name has
// been heard already.
func (t *stateTable) init(name, state string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.named[name]; !ok {
		t.update(name, state, state)
	}
}

func (t *stateTable) set(name, from, to string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.update(name, from, to)
}

// update records a change; t.mu is held.
func (t *stateTable) update(name, from, to string) {
	if t.named == nil {
		t.named = make(map[string]*stateEntry)
	}
	e := t.named[name]
	if e == nil {
		e = &stateEntry{seen: make(map[string]metric.MeasurementOption, 3)}
		t.named[name] = e
	}
	for _, s := range [2]string{from, to} {
		if _, ok := e.seen[s]; !ok {
			e.seen[s] = metric.WithAttributeSet(attribute.NewSet(t.key.String(name), t.stateKey.String(s)))
		}
	}
	e.current = to
	// Record every state seen, so that a state left by a change that was
	// heard late is set back to 0 too. The sets are a handful.
	for s, opt := range e.seen {
		var v int64
		if s == e.current {
			v = 1
		}
		t.gauge.Record(bg, v, opt)
	}
}
