package slo

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file generates Prometheus rules that compute, from the metrics every
// replica of a service exports, what a Monitor computes in one process. The
// names follow Sloth's, so that dashboards made for Sloth's rules read them.

// The series the rules read: the execution histogram of package policy, as
// the OpenTelemetry Prometheus exporter names it (unit s: _seconds), with its
// pipeline and outcome labels. The exporter adds otel_scope_name and
// otel_scope_version, and Prometheus adds job and instance; the rules sum
// them all away, so that the fleet is judged as one.
const (
	SeriesExecutionCount  = "resilience_execution_duration_seconds_count"
	SeriesExecutionBucket = "resilience_execution_duration_seconds_bucket"
)

// The labels of the generated rules: Sloth's, so that its dashboards work
// unchanged. sloth_service is PrometheusSLO.Service, sloth_slo is
// PrometheusSLO.Name followed by "-availability" or "-latency" (a Monitor's
// slo and objective gauge attributes), sloth_id is both joined by "-", and
// sloth_window is a window's length, such as "5m" or "30d". The alerts carry
// sloth_severity and severity, "page" or "ticket".
const (
	LabelService  = "sloth_service"
	LabelSLO      = "sloth_slo"
	LabelID       = "sloth_id"
	LabelWindow   = "sloth_window"
	LabelSeverity = "sloth_severity"
)

// AlertName is the name of every generated alert; its labels tell the SLO and
// the severity apart.
const AlertName = "SLOErrorBudgetBurn"

// durationBuckets are the boundaries, in seconds, of the execution histogram
// a pipeline records: those of package policy.
var durationBuckets = [...]float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
}

// DurationBuckets returns the bucket boundaries, in seconds, of the
// resilience.execution.duration histogram that a pipeline records, from
// 100µs to a minute. A latency objective's threshold must be one of them,
// or one that a view adds (see PrometheusSLO.Buckets): a histogram can only
// tell calls below a boundary from those above it. The slice is a copy.
func DurationBuckets() []float64 { return slices.Clone(durationBuckets[:]) }

// PrometheusSLO is an [Objective] as Prometheus judges it: over the metrics
// of every replica that runs the pipeline named Pipeline.
type PrometheusSLO struct {
	// Service names the service the objective belongs to (sloth_service).
	// It is required.
	Service string

	// Name names the objective, as the name of its Monitor does (sloth_slo
	// is Name-availability or Name-latency). It is required.
	Name string

	// Pipeline is the pipeline whose executions are judged: the pipeline
	// label of the execution histogram. Empty means Name.
	Pipeline string

	// Objective is what calls are held to. Its windows, alert rules and
	// AlertMinCalls are those of a Monitor; a latency threshold must be a
	// bucket boundary.
	Objective Objective

	// Buckets are the boundaries, in seconds, of the execution histogram as
	// the application records it. Nil means DurationBuckets(); set it when a
	// view (such as one otelhooks adds for each objective's threshold)
	// changes them.
	Buckets []float64

	// AlertFor is how long an alert's condition must hold before it fires
	// (the rule's for). Zero fires at the first evaluation that sees the
	// burn, as a Monitor alerts at once; it must not be negative.
	AlertFor time.Duration
}

// RuleFile is a Prometheus rule file: what [PrometheusRules] returns and its
// WriteTo method writes.
type RuleFile struct {
	Groups []RuleGroup // one per indicator of each SLO
}

// RuleGroup is a group of rules, evaluated in order at Prometheus's
// evaluation interval.
type RuleGroup struct {
	Name  string // unique in a Prometheus
	Rules []Rule // in evaluation order
}

// Rule is a recording rule (Record set) or an alerting rule (Alert set):
// the record or alert, expr, for, labels and annotations of a rule file.
type Rule struct {
	Record      string            // the series a recording rule writes; empty for an alert
	Alert       string            // the name of an alerting rule; empty for a recording rule
	Expr        string            // PromQL
	For         time.Duration     // alerts only: how long the condition holds before firing; zero fires at once
	Labels      map[string]string // added to what the rule writes or fires
	Annotations map[string]string // alerts only
}

// windowNames are the names of the workbook's windows, as in the names of
// the recording rules; a window's real length, scaled to the objective's
// window, is in its sloth_window label.
var windowNames = [winSLO]string{"5m", "30m", "1h", "2h", "6h", "1d", "3d"}

// PrometheusRules returns the recording and alerting rules that compute the
// objectives of slos over every replica's metrics, as a [Monitor] computes
// them in one process. For each indicator of each SLO (availability, and
// latency when the objective sets a threshold), one group named
// resilience-slo-<sloth_id>, whose rules come in the order they read each
// other, so that every rule sees what the rules before it recorded at the
// same evaluation:
//
//   - the error ratio over each window, slo:sli_error:ratio_rate5m …
//     slo:sli_error:ratio_rate3d (the workbook's names; the lengths scale
//     with the objective's window, as a Monitor's do) and over the
//     objective's window, slo:sli_error:ratio_rate30d for 30 days; and,
//     when Objective.AlertMinCalls is set, the calls over each alert's long
//     window, slo:sli_calls:increase1h … increase3d;
//   - slo:objective:ratio, slo:error_budget:ratio, slo:time_period:days,
//     slo:current_burn_rate:ratio (over the 5m window),
//     slo:period_burn_rate:ratio and slo:period_error_budget_remaining:ratio;
//   - two alerts named AlertName, severity page and ticket, whose
//     conditions are the Monitor's rules.
//
// The error ratio of availability is the share of executions whose outcome
// is not success; that of latency is the share of successful executions
// slower than the threshold, read from the histogram's le buckets. A
// window without executions has no ratio (0/0 is NaN in PromQL), and no
// alert: a Monitor reports a burn rate of 0 for it.
//
// Prometheus sees executions as the pipeline records them, at the outermost
// policy: the rules judge what callers see, as a Monitor placed first in its
// pipeline does. Calls that callers cancelled count as failures there.
// Windows are written to the millisecond; each must hold at least two scrapes,
// so an objective's window of 12h suits a scrape interval of 1s or 2s (the
// 5m window lasts 5s), and 30 days one of up to two minutes.
//
// It fails, with an error matching [ErrInvalid] that names the SLO and the
// field, when a Service or Name is empty, an objective is invalid, a latency
// threshold is no bucket boundary, AlertFor is negative, a name is not UTF-8,
// or two SLOs share a sloth_id.
func PrometheusRules(slos ...PrometheusSLO) (RuleFile, error) {
	var f RuleFile
	seen := map[string]bool{}
	for i, s := range slos {
		if s.Service == "" || s.Name == "" {
			return RuleFile{}, fmt.Errorf("%w: PrometheusSLO %d: Service and Name are required", ErrInvalid, i)
		}
		if !utf8.ValidString(s.Service + s.Name + s.Pipeline) {
			return RuleFile{}, fmt.Errorf("%w: PrometheusSLO %d: Service, Name and Pipeline must be UTF-8, as Prometheus's label values are", ErrInvalid, i)
		}
		obj, err := s.Objective.normalize()
		if err != nil {
			return RuleFile{}, fmt.Errorf("%w: slo %q: %w", ErrInvalid, s.Name, err)
		}
		if s.AlertFor < 0 {
			return RuleFile{}, fmt.Errorf("%w: slo %q: AlertFor is %v; want zero or more", ErrInvalid, s.Name, s.AlertFor)
		}
		if s.Pipeline == "" {
			s.Pipeline = s.Name
		}
		if s.Buckets == nil {
			s.Buckets = durationBuckets[:]
		}
		s.Objective = obj
		inds := []Indicator{Availability}
		if obj.Latency > 0 {
			if err := checkThreshold(obj.Latency, s.Buckets); err != nil {
				return RuleFile{}, fmt.Errorf("%w: slo %q: %w", ErrInvalid, s.Name, err)
			}
			inds = append(inds, Latency)
		}
		for _, ind := range inds {
			g := newGenerator(s, ind)
			if seen[g.id] {
				return RuleFile{}, fmt.Errorf("%w: slo %q: sloth_id %q is generated twice", ErrInvalid, s.Name, g.id)
			}
			seen[g.id] = true
			// One group, in dependency order: every rule reads what the
			// rules before it recorded at the same evaluation, so that an
			// alert fires at the evaluation that sees the burn, as a
			// Monitor alerts at the call that makes it.
			grp := RuleGroup{Name: "resilience-slo-" + g.id}
			grp.Rules = append(grp.Rules, g.sliRules()...)
			grp.Rules = append(grp.Rules, g.metaRules()...)
			grp.Rules = append(grp.Rules, g.alertRules()...)
			f.Groups = append(f.Groups, grp)
		}
	}
	return f, nil
}

// checkThreshold refuses a latency threshold that is no bucket boundary.
func checkThreshold(threshold time.Duration, buckets []float64) error {
	secs := threshold.Seconds()
	if slices.Contains(buckets, secs) {
		return nil
	}
	below, above := math.Inf(-1), math.Inf(1)
	for _, b := range buckets {
		if b < secs && b > below {
			below = b
		}
		if b > secs && b < above {
			above = b
		}
	}
	near := "no boundary near it"
	switch {
	case !math.IsInf(below, 0) && !math.IsInf(above, 0):
		near = "the nearest are " + seconds(below) + " and " + seconds(above)
	case !math.IsInf(below, 0):
		near = "the largest is " + seconds(below)
	case !math.IsInf(above, 0):
		near = "the smallest is " + seconds(above)
	}
	return fmt.Errorf("Objective.Latency is %v, which is no bucket boundary of the execution histogram (%s); choose a boundary, or add it to the histogram with a view and to Buckets", threshold, near)
}

func seconds(s float64) string {
	return formatWindow(time.Duration(math.Round(s * float64(time.Second))))
}

// generator writes the rules of one indicator of one SLO.
type generator struct {
	s       PrometheusSLO
	ind     Indicator
	id      string
	target  float64
	budget  float64
	lengths [numWindows]time.Duration
	labels  map[string]string // sloth_service, sloth_slo, sloth_id
	sel     string            // a selector of them: {sloth_id="…",…}
}

func newGenerator(s PrometheusSLO, ind Indicator) *generator {
	g := &generator{s: s, ind: ind}
	slo := s.Name + "-" + ind.String()
	g.id = s.Service + "-" + slo
	g.target = s.Objective.Availability
	if ind == Latency {
		g.target = s.Objective.LatencyTarget
	}
	// As a Monitor computes it, so that both compare burn rates alike.
	g.budget = 1 - g.target
	g.lengths = newWindows(s.Objective.Window).lengths
	g.labels = map[string]string{LabelService: s.Service, LabelSLO: slo, LabelID: g.id}
	g.sel = selector(g.labels)
	return g
}

// selector writes labels as a PromQL selector, keys sorted.
func selector(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// with returns g's labels and more.
func (g *generator) with(kv ...string) map[string]string {
	m := make(map[string]string, len(g.labels)+len(kv)/2)
	for k, v := range g.labels {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// windowSel selects g's series of window w.
func (g *generator) windowSel(w int) string {
	return selector(g.with(LabelWindow, promDuration(g.lengths[w])))
}

// recordName returns the name of window w's error ratio rule.
func (g *generator) recordName(w int) string {
	if w == winSLO {
		return "slo:sli_error:ratio_rate" + promDuration(g.lengths[w])
	}
	return "slo:sli_error:ratio_rate" + windowNames[w]
}

func (g *generator) sliRules() []Rule {
	var rs []Rule
	for w := range numWindows {
		rs = append(rs, Rule{
			Record: g.recordName(w),
			Expr:   g.errorRatio(promDuration(g.lengths[w])),
			Labels: g.with(LabelWindow, promDuration(g.lengths[w])),
		})
	}
	if g.s.Objective.AlertMinCalls > 0 {
		for _, r := range rules {
			rs = append(rs, Rule{
				Record: "slo:sli_calls:increase" + windowNames[r.long],
				Expr:   "sum(increase(" + g.callsSeries() + "[" + promDuration(g.lengths[r.long]) + "]))",
				Labels: g.with(LabelWindow, promDuration(g.lengths[r.long])),
			})
		}
	}
	return rs
}

// pipelineSel selects the pipeline's series with more matchers.
func (g *generator) pipelineSel(more string) string {
	return "pipeline=" + strconv.Quote(g.s.Pipeline) + more
}

// callsSeries is the counter of the calls the indicator counts: all
// executions for availability, successful ones for latency.
func (g *generator) callsSeries() string {
	if g.ind == Latency {
		return SeriesExecutionCount + "{" + g.pipelineSel(`, outcome="success"`) + "}"
	}
	return SeriesExecutionCount + "{" + g.pipelineSel("") + "}"
}

// errorRatio is the indicator's share of bad calls over rng.
func (g *generator) errorRatio(rng string) string {
	rate := func(series string) string { return "sum(rate(" + series + "[" + rng + "]))" }
	if g.ind == Availability {
		// A pipeline that never failed has no series of other outcomes:
		// "or vector(0)" makes its ratio 0 rather than no data.
		return "(" + rate(SeriesExecutionCount+"{"+g.pipelineSel(`, outcome!="success"`)+"}") + " or vector(0))\n/\n" +
			rate(g.callsSeries())
	}
	fast := SeriesExecutionBucket + "{" + g.pipelineSel(`, outcome="success", le=~`+strconv.Quote(leRegexp(g.s.Objective.Latency))) + "}"
	return "(" + rate(g.callsSeries()) + " - " + rate(fast) + ")\n/\n" + rate(g.callsSeries())
}

// leRegexp matches the le label of the bucket whose boundary is threshold, as
// both exposition formats write it: 0.25 in both, 1 in the text format and
// 1.0 in OpenMetrics (which Prometheus negotiates when it can).
func leRegexp(threshold time.Duration) string {
	s := strconv.FormatFloat(threshold.Seconds(), 'g', -1, 64)
	q := strings.ReplaceAll(s, ".", `\.`)
	if !strings.ContainsAny(s, "e.") {
		return q + `|` + q + `\.0`
	}
	return q
}

func (g *generator) metaRules() []Rule {
	per := func(w int) string {
		return g.recordName(w) + g.windowSel(w) + "\n/ on(" + LabelID + ", " + LabelSLO + ", " + LabelService + ") group_left\nslo:error_budget:ratio" + g.sel
	}
	return []Rule{
		{Record: "slo:objective:ratio", Expr: "vector(" + float(g.target) + ")", Labels: g.with()},
		{Record: "slo:error_budget:ratio", Expr: "vector(" + float(g.budget) + ")", Labels: g.with()},
		{Record: "slo:time_period:days", Expr: "vector(" + float(g.lengths[winSLO].Hours()/24) + ")", Labels: g.with()},
		{Record: "slo:current_burn_rate:ratio", Expr: per(win5m), Labels: g.with()},
		{Record: "slo:period_burn_rate:ratio", Expr: per(winSLO), Labels: g.with()},
		{Record: "slo:period_error_budget_remaining:ratio", Expr: "1 - slo:period_burn_rate:ratio" + g.sel, Labels: g.with()},
	}
}

func (g *generator) alertRules() []Rule {
	var rs []Rule
	for _, sev := range []Alert{AlertPage, AlertTicket} {
		var conds []string
		for _, r := range rules {
			if r.severity != sev {
				continue
			}
			over := func(w int) string {
				return "max(" + g.recordName(w) + g.windowSel(w) + " > (" + float(r.burn) + " * " + float(g.budget) + ")) without (" + LabelWindow + ")"
			}
			c := "(\n  " + over(r.short) + "\n  and\n  " + over(r.long)
			if n := g.s.Objective.AlertMinCalls; n > 0 {
				c += "\n  and\n  max(slo:sli_calls:increase" + windowNames[r.long] + g.windowSel(r.long) + " >= " + strconv.Itoa(n) + ") without (" + LabelWindow + ")"
			}
			conds = append(conds, c+"\n)")
		}
		rs = append(rs, Rule{
			Alert: AlertName,
			Expr:  strings.Join(conds, "\nor\n"),
			For:   g.s.AlertFor,
			// The SLO's labels make each alert rule unique, as promtool
			// wants; the expression's result carries them anyway.
			Labels: g.with(LabelSeverity, sev.String(), "severity", sev.String()),
			Annotations: map[string]string{
				"summary": "{{$labels.sloth_service}} {{$labels.sloth_slo}}: the error budget burns too fast (" + sev.String() + ")",
			},
		})
	}
	return rs
}

// float writes f as PromQL reads it back, exactly.
func float(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// promDuration writes d as a Prometheus duration, to the millisecond: "5m",
// "1d", "1m10s", "417ms".
func promDuration(d time.Duration) string {
	d = d.Round(time.Millisecond)
	if d <= 0 {
		return "0s"
	}
	var b []byte
	for _, u := range [...]struct {
		unit   time.Duration
		suffix string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if n := d / u.unit; n > 0 {
			b = fmt.Appendf(b, "%d%s", n, u.suffix)
			d -= n * u.unit
		}
	}
	return string(b)
}
