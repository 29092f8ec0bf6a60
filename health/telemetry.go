package health

import (
	"context"

	"github.com/aragora/resilience/policy"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// MetricStatus is the name of the gauge every checker reports: 1 for each
// check's current status and 0 for its other statuses, with attributes
// checker, check and status. The checker's overall status is reported under
// check "". The Prometheus exporter names it resilience_health_status.
const MetricStatus = "resilience.health.status"

// The attributes of the spans and span events of health checks. Outcomes,
// state changes and errors use the keys of package policy (resilience.outcome,
// resilience.state.from, resilience.state.to, error.type).
const (
	AttrChecker  = attribute.Key("resilience.health.checker")              // the checker's name
	AttrCheck    = attribute.Key("resilience.health.check")                // the check's name
	AttrStatus   = attribute.Key("resilience.health.status")               // a Status's String
	AttrFailures = attribute.Key("resilience.health.consecutive_failures") // after the run
)

// EventStatusChange is the name of the span event recorded on the span of the
// run that changed a status: a check's (with resilience.health.check) or the
// checker's overall one (without it).
const EventStatusChange = "health.status_change"

// telemetry is what a checker records with.
type telemetry struct {
	name          string // the checker's
	tracer        trace.Tracer
	checkAllName  string
	checkAllStart []trace.SpanStartOption
	checker       attribute.KeyValue
	gauge         metric.Int64ObservableGauge
	reg           metric.Registration // nil when the gauge could not be registered
	overall       *checkAttrs
	statusAttr    [numStatuses]attribute.KeyValue
}

// checkAttrs is what recording one check needs, built once at Register.
type checkAttrs struct {
	spanName string
	start    []trace.SpanStartOption
	check    attribute.KeyValue
	points   [numStatuses]metric.ObserveOption
}

func newTelemetry(c *Checker, tp trace.TracerProvider, mp metric.MeterProvider) *telemetry {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	t := &telemetry{
		name:         c.name,
		tracer:       tp.Tracer(policy.ScopeName, trace.WithInstrumentationVersion(policy.Version)),
		checkAllName: c.name + " check_all",
		checker:      AttrChecker.String(c.name),
	}
	t.checkAllStart = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(t.checker)}
	for s := range numStatuses {
		t.statusAttr[s] = AttrStatus.String(s.String())
	}
	t.overall = t.checkAttrs("")

	meter := mp.Meter(policy.ScopeName, metric.WithInstrumentationVersion(policy.Version))
	var err error
	t.gauge, err = meter.Int64ObservableGauge(MetricStatus,
		metric.WithUnit("{status}"),
		metric.WithDescription("Health status of a check (check=\"\": of the whole checker): 1 for the current status, 0 for the others."))
	if err != nil {
		otel.Handle(err)
		return t
	}
	// The callback reads t, not c.tel: a collection may run before
	// NewChecker has stored t in c.
	t.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		c.observeStatuses(o, t)
		return nil
	}, t.gauge)
	if err != nil {
		otel.Handle(err)
		t.reg = nil
	}
	return t
}

func (t *telemetry) checkAttrs(check string) *checkAttrs {
	a := &checkAttrs{
		spanName: t.name + "/" + check + " check",
		check:    AttrCheck.String(check),
	}
	a.start = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(t.checker, a.check)}
	for s := range numStatuses {
		a.points[s] = metric.WithAttributeSet(attribute.NewSet(
			attribute.String("checker", t.name),
			attribute.String("check", check),
			attribute.String("status", s.String())))
	}
	return a
}

func (a *checkAttrs) observe(o metric.Observer, g metric.Int64ObservableGauge, current Status) {
	for s := Unknown; s < numStatuses; s++ {
		var v int64
		if s == current {
			v = 1
		}
		o.ObserveInt64(g, v, a.points[s])
	}
}

// unregister stops the gauge's callback.
func (t *telemetry) unregister() {
	if t.reg != nil {
		if err := t.reg.Unregister(); err != nil {
			otel.Handle(err)
		}
	}
}

// endRun records a run's outcome on its span and ends it.
func (t *telemetry) endRun(span trace.Span, err error, status Status, failures int, changes []StatusChange) {
	if !span.IsRecording() {
		span.End()
		return
	}
	span.SetAttributes(
		policy.AttrOutcome.String(policy.OutcomeOf(err).String()),
		t.statusAttr[status],
		AttrFailures.Int(failures))
	policy.RecordError(span, err)
	for _, ch := range changes {
		attrs := make([]attribute.KeyValue, 0, 3)
		if ch.Check != "" {
			attrs = append(attrs, AttrCheck.String(ch.Check))
		}
		attrs = append(attrs, policy.AttrStateFrom.String(ch.From.String()), policy.AttrStateTo.String(ch.To.String()))
		span.AddEvent(EventStatusChange, trace.WithAttributes(attrs...))
	}
	span.End()
}
