package policy

import (
	"context"
	"errors"
	"reflect"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of every span and instrument this
// module makes: its import path.
const ScopeName = "github.com/aragora/resilience"

// Version is the version of this module, reported as the instrumentation
// scope's version.
const Version = "0.1.0"

// The names of the instruments a pipeline records. The Prometheus exporter
// turns them into resilience_execution_duration_seconds,
// resilience_attempt_duration_seconds and resilience_events_total.
const (
	MetricExecutionDuration = "resilience.execution.duration" // histogram, s: pipeline, outcome
	MetricAttemptDuration   = "resilience.attempt.duration"   // histogram, s: pipeline, outcome
	MetricEvents            = "resilience.events"             // counter, {event}: pipeline, policy, event
)

// The span attributes of executions, attempts and events. Keys that an
// OpenTelemetry semantic convention already names (error.type,
// exception.stacktrace) use that name.
const (
	AttrPipeline  = attribute.Key("resilience.pipeline")   // the pipeline's name
	AttrOutcome   = attribute.Key("resilience.outcome")    // an Outcome's String
	AttrAttempts  = attribute.Key("resilience.attempts")   // attempts an execution made
	AttrAttempt   = attribute.Key("resilience.attempt")    // an attempt's number, 1-based
	AttrPolicy    = attribute.Key("resilience.policy")     // the policy that reported an event
	AttrDelay     = attribute.Key("resilience.delay")      // an event's Delay, in seconds
	AttrStateFrom = attribute.Key("resilience.state.from") // a state change's From
	AttrStateTo   = attribute.Key("resilience.state.to")   // a state change's To
	AttrReason    = attribute.Key("resilience.reason")     // an event's Reason
	AttrErrorType = attribute.Key("error.type")            // ErrorType of the error
	AttrHedge     = attribute.Key("resilience.hedge")      // true on a hedged attempt's span
	attrStack     = attribute.Key("exception.stacktrace")  // a panic's stack
)

// durationBuckets are the histogram bounds, in seconds: from 100µs to a
// minute, fine where calls to other services usually fall.
var durationBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
}

// telemetry is what a pipeline records with, for one pair of providers.
type telemetry struct {
	tracer     trace.Tracer // nil: no spans
	metrics    bool         // false: no measurements, and no clock reads for them
	execDur    metric.Float64Histogram
	attemptDur metric.Float64Histogram
	events     metric.Int64Counter
}

// resolved caches the telemetry of the providers it was made for.
type resolved struct {
	tp         trace.TracerProvider
	mp         metric.MeterProvider
	comparable bool
	tel        *telemetry
}

// telemetry returns what to record the next execution with, or nil when
// telemetry is off: no tracer provider and no meter provider, or only the
// otel package's placeholders that no SDK has replaced yet, or no-op ones.
// Looking the providers up at every execution costs two atomic loads, and
// makes an SDK installed after New take effect at once.
func (p *Pipeline) telemetry() *telemetry {
	if p.static {
		return p.fixed
	}
	tp, mp := p.cfg.tp, p.cfg.mp
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	// Interfaces compare safely here: the cached ones hold comparable types,
	// and values of other types are simply unequal.
	if r := p.tel.Load(); r != nil && r.comparable && r.tp == tp && r.mp == mp {
		return r.tel
	}
	tel := newTelemetry(tp, mp)
	p.tel.Store(&resolved{tp: tp, mp: mp, comparable: isComparable(tp) && isComparable(mp), tel: tel})
	return tel
}

func isComparable(v any) bool { return reflect.TypeOf(v).Comparable() }

// placeholder reports whether v is a provider that records nothing: a no-op
// one, or the otel package's global placeholder before an SDK is installed.
func placeholder(v any) bool {
	switch v.(type) {
	case tracenoop.TracerProvider, metricnoop.MeterProvider:
		return true
	}
	switch reflect.TypeOf(v).String() {
	case "*global.tracerProvider", "*global.meterProvider", "trace.noopTracerProvider":
		return true
	}
	return false
}

func newTelemetry(tp trace.TracerProvider, mp metric.MeterProvider) *telemetry {
	tel := &telemetry{}
	if !placeholder(tp) {
		tel.tracer = tp.Tracer(ScopeName, trace.WithInstrumentationVersion(Version))
	}
	if !placeholder(mp) {
		meter := mp.Meter(ScopeName, metric.WithInstrumentationVersion(Version))
		var err error
		// An instrument that fails to build comes back as a working no-op one,
		// with an error that goes to otel.Handle: telemetry never fails a call.
		tel.execDur, err = meter.Float64Histogram(MetricExecutionDuration,
			metric.WithUnit("s"),
			metric.WithDescription("Duration of executions of a resilience pipeline, all attempts and waits included."),
			metric.WithExplicitBucketBoundaries(durationBuckets...))
		handle(err)
		tel.attemptDur, err = meter.Float64Histogram(MetricAttemptDuration,
			metric.WithUnit("s"),
			metric.WithDescription("Duration of single attempts of the function a resilience pipeline protects."),
			metric.WithExplicitBucketBoundaries(durationBuckets...))
		handle(err)
		tel.events, err = meter.Int64Counter(MetricEvents,
			metric.WithUnit("{event}"),
			metric.WithDescription("Decisions taken by resilience policies: retries, rejections, timeouts, fallbacks, state changes."))
		handle(err)
		tel.metrics = true
	}
	if tel.tracer == nil && !tel.metrics {
		return nil
	}
	return tel
}

func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}

// attrSets holds the attributes a pipeline records with, built once by New so
// that recording allocates nothing of ours. Span attributes are set once, as
// the span ends, from the slices built here: a span that is sampled out
// builds none.
type attrSets struct {
	execName    string
	attemptName string
	spanStart   []trace.SpanStartOption // of every span: its kind
	pipeline    attribute.KeyValue
	outcome     [numOutcomes]attribute.KeyValue
	execEnd     [numOutcomes][precomputed + 1][]attribute.KeyValue // by outcome and attempts made
	attemptEnd  [numOutcomes][precomputed + 1][]attribute.KeyValue // by outcome and attempt number
	exec        [numOutcomes][]metric.RecordOption
	attempt     [numOutcomes][]metric.RecordOption
	policy      []attribute.KeyValue                // resilience.policy, by policy index
	events      [][numEventKinds][]metric.AddOption // by policy index and kind
}

// precomputed is the number of attempts whose span attributes New builds:
// those of executions that retry up to three times.
const precomputed = 4

func newAttrSets(name string, policies []string) *attrSets {
	a := &attrSets{
		execName:    name + " execute",
		attemptName: name + " attempt",
		spanStart:   []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)},
		pipeline:    AttrPipeline.String(name),
		policy:      make([]attribute.KeyValue, len(policies)),
		events:      make([][numEventKinds][]metric.AddOption, len(policies)),
	}
	for o := range numOutcomes {
		a.outcome[o] = AttrOutcome.String(o.String())
		for n := range precomputed + 1 {
			a.execEnd[o][n] = execAttrs(a.pipeline, a.outcome[o], n)
			a.attemptEnd[o][n] = attemptAttrs(a.pipeline, a.outcome[o], n)
		}
		set := attribute.NewSet(attribute.String("pipeline", name), attribute.String("outcome", o.String()))
		a.exec[o] = []metric.RecordOption{metric.WithAttributeSet(set)}
		a.attempt[o] = a.exec[o]
	}
	for i, pol := range policies {
		a.policy[i] = AttrPolicy.String(pol)
		for k := EventKind(1); k < numEventKinds; k++ {
			set := attribute.NewSet(
				attribute.String("pipeline", name),
				attribute.String("policy", pol),
				attribute.String("event", k.String()))
			a.events[i][k] = []metric.AddOption{metric.WithAttributeSet(set)}
		}
	}
	return a
}

func execAttrs(pipeline, outcome attribute.KeyValue, attempts int) []attribute.KeyValue {
	return []attribute.KeyValue{pipeline, outcome, AttrAttempts.Int(attempts)}
}

func attemptAttrs(pipeline, outcome attribute.KeyValue, n int) []attribute.KeyValue {
	return []attribute.KeyValue{pipeline, AttrAttempt.Int(n), outcome}
}

// epoch is the origin of the clock readings that time executions and
// attempts. A duration needs only the monotonic clock, which time.Since
// reads alone: time.Now reads the wall clock too.
var epoch = time.Now()

func monotonic() time.Duration { return time.Since(epoch) }

// spanTimes is what the SDK's spans say of their times (its ReadOnlySpan).
// The duration of a span that records is read from it, rather than from
// clock readings of our own that would repeat the SDK's.
type spanTimes interface {
	StartTime() time.Time
	EndTime() time.Time
}

// execSpan is the execution's span and the context that carries it, and what
// times it.
type execSpan struct {
	ctx       context.Context
	span      trace.Span // nil when tracing is off, or for an attempt of an execution that does not record
	recording bool
	timed     bool          // the span's own times give its duration
	start     time.Duration // monotonic reading at the start, when metrics are on and the span is not timed
}

// attemptSpan is execSpan's counterpart for one attempt.
type attemptSpan = execSpan

// startClock starts timing sp, when metrics are on.
func (sp *execSpan) startClock(metrics bool) {
	if !metrics {
		return
	}
	if sp.recording {
		if _, ok := sp.span.(spanTimes); ok {
			sp.timed = true
			return
		}
	}
	sp.start = monotonic()
}

// finish ends sp's span, if any, and returns its duration in seconds (0
// when metrics are off).
func (sp *execSpan) finish(metrics bool) float64 {
	if sp.timed {
		sp.span.End()
		st := sp.span.(spanTimes)
		return st.EndTime().Sub(st.StartTime()).Seconds()
	}
	var d time.Duration
	if metrics {
		d = monotonic() - sp.start
	}
	if sp.span != nil {
		sp.span.End()
	}
	return d.Seconds()
}

func (s *state) startExecution(ctx context.Context) context.Context {
	if t := s.tel.tracer; t != nil {
		ctx, s.exec.span = t.Start(ctx, s.p.attrs.execName, s.p.attrs.spanStart...)
		s.exec.recording = s.exec.span.IsRecording()
	}
	s.exec.ctx = ctx
	s.exec.startClock(s.tel.metrics)
	return ctx
}

func (s *state) endExecution(err error) {
	a := s.p.attrs
	outcome := OutcomeOf(err)
	if s.panicErr != nil {
		outcome, err = Panic, s.panicErr
	}
	if span := s.exec.span; s.exec.recording {
		if n := int(s.attempts.Load() - s.unused.Load()); n <= precomputed {
			span.SetAttributes(a.execEnd[outcome][n]...)
		} else {
			span.SetAttributes(execAttrs(a.pipeline, a.outcome[outcome], n)...)
		}
		switch {
		case outcome == Panic:
			RecordError(span, err)
		case err != nil:
			// The attempts hold the exceptions; the execution says how it ended.
			span.SetAttributes(AttrErrorType.String(ErrorType(err)))
			span.SetStatus(codes.Error, err.Error())
		}
	}
	d := s.exec.finish(s.tel.metrics)
	if s.tel.metrics {
		s.tel.execDur.Record(s.exec.ctx, d, a.exec[outcome]...)
	}
}

// startAttempt starts attempt n's span, unless the execution's span does not
// record: under the SDK's default sampler, ParentBased, the attempt's would
// not either, and its function runs in the execution span's context, which
// carries the trace and the decision not to sample it.
func (s *state) startAttempt(ctx context.Context) (context.Context, attemptSpan) {
	var at attemptSpan
	if s.exec.recording {
		ctx, at.span = s.tel.tracer.Start(ctx, s.p.attrs.attemptName, s.p.attrs.spanStart...)
		at.recording = at.span.IsRecording()
		if at.recording {
			if s.hedged {
				at.span.SetAttributes(AttrHedge.Bool(true))
			}
			ctx = withAttemptSpan(ctx, at.span)
		}
	}
	at.ctx = ctx
	at.startClock(s.tel.metrics)
	return ctx, at
}

func (s *state) endAttempt(at *attemptSpan, n int, err error) {
	a := s.p.attrs
	outcome := OutcomeOf(err)
	if at.recording {
		if n <= precomputed {
			at.span.SetAttributes(a.attemptEnd[outcome][n]...)
		} else {
			at.span.SetAttributes(attemptAttrs(a.pipeline, a.outcome[outcome], n)...)
		}
		RecordError(at.span, err)
		if err != nil && at.ctx.Err() != nil {
			// Out of time: name it by the context's cause, as its policy does.
			at.span.SetAttributes(AttrErrorType.String(attemptErrorType(at.ctx, err)))
		}
	}
	d := at.finish(s.tel.metrics)
	if s.tel.metrics {
		s.tel.attemptDur.Record(at.ctx, d, a.attempt[outcome]...)
	}
}

// RecordError marks span as failed by err, the OpenTelemetry way: the
// exception event (with the stack of a [*PanicError]), the error.type
// attribute ([ErrorType]) and status Error. It does nothing for a nil error.
// Packages that record spans of their own, such as health, use it so that
// every failure looks alike.
func RecordError(span trace.Span, err error) {
	if err == nil || !span.IsRecording() {
		return
	}
	if pe, ok := errors.AsType[*PanicError](err); ok {
		span.RecordError(err, trace.WithAttributes(attrStack.String(string(pe.Stack))))
	} else {
		span.RecordError(err)
	}
	span.SetAttributes(AttrErrorType.String(ErrorType(err)))
	span.SetStatus(codes.Error, err.Error())
}

func (s *state) report(idx int, e Event) {
	tel := s.tel
	if tel == nil || e.Kind == 0 || e.Kind >= numEventKinds {
		return
	}
	if tel.metrics {
		tel.events.Add(s.exec.ctx, 1, s.p.attrs.events[idx][e.Kind]...)
	}
	if s.exec.recording {
		s.exec.span.AddEvent(e.Kind.String(), trace.WithAttributes(e.attributes(s.p.attrs.policy[idx])...))
	}
}

// attributes returns the span event attributes of e: the fields its kind uses.
func (e Event) attributes(policy attribute.KeyValue) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, policy)
	if e.Attempt > 0 {
		attrs = append(attrs, AttrAttempt.Int(e.Attempt))
	}
	if e.Delay > 0 || e.Kind == EventRetry {
		attrs = append(attrs, AttrDelay.Float64(e.Delay.Seconds()))
	}
	if e.From != "" || e.To != "" {
		attrs = append(attrs, AttrStateFrom.String(e.From), AttrStateTo.String(e.To))
	}
	if e.Reason != "" {
		attrs = append(attrs, AttrReason.String(e.Reason))
	}
	if e.Err != nil {
		attrs = append(attrs, AttrErrorType.String(ErrorType(e.Err)))
	}
	return attrs
}
