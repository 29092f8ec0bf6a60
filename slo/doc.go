// Package slo monitors service level objectives: it tells, at any moment,
// how much of an error budget is left and how fast it burns, and raises the
// multiwindow, multi-burn-rate alerts of the Google SRE workbook.
//
// An [Objective] says what good service is: a share of calls that succeed
// (availability, such as 0.999) and, optionally, a share of successful calls
// within a latency threshold (such as 99% within 300ms), over a rolling
// window (30 days by default). A [Monitor] holds calls to it:
//
//	m, err := slo.New("knowledge-store", slo.Objective{
//		Availability: 0.999,
//		Latency:      300 * time.Millisecond, // LatencyTarget defaults to 0.99
//	})
//	...
//	p, err := policy.New("knowledge-store", breaker, m) // m observes what the breaker lets through
//
// A Monitor is a [policy.Policy] that only observes: it runs the rest of the
// pipeline, records the outcome and latency, and returns the error
// unchanged. Calls made outside a pipeline are recorded with
// [Monitor.Record]. What counts as bad is documented on [Monitor.Run]; in
// short, failures, panics, timeouts and rejections by policies inside the
// monitor are bad, and a caller's own cancellation is not recorded.
//
// # Error budget and burn rate
//
// The error budget is the share of calls allowed to be bad: 0.1% for 0.999.
// The burn rate over a window is the share of bad calls in it divided by
// that allowance: at 1, the budget runs out exactly as the objective's
// window ends; at 10 (1% errors against 99.9%), ten times sooner. The
// budget remaining is 1 − bad/allowed over the objective's window, negative
// once overspent. [Monitor.Snapshot] returns all of it, per [Indicator]
// (availability and latency each have their own budget) and per window.
//
// # Alerts
//
// Each indicator's [Alert] follows the workbook's rules: page when the burn
// rate exceeds 14.4 over 1h and 5m, or 6 over 6h and 30m; ticket when it
// exceeds 3 over 1d and 2h, or 1 over 3d and 6h. The long window makes an
// alert significant, the short one lets it clear soon after the burning
// stops. For an objective window other than 30 days, the alert windows scale
// in proportion (7 days: 14m with 70s, …), so each rule still means the same
// share of the budget. A change is reported as a [policy.EventSLOAlert] on
// the execution during which it was seen, and passed to the listeners of
// [Monitor.OnAlertChange], called after the monitor's lock is released (a
// listener that panics is recovered, and the panic handed to otel.Handle).
// Alerts are evaluated as calls are recorded and when the monitor is read
// (Snapshot, gauge collection): without traffic, a clear is seen at the next
// read.
//
// On a quiet service one failure can burn fast enough to page; set
// Objective.AlertMinCalls to the calls a rule's long window must hold before
// that rule may alert; the call that brings the window up to it raises the
// alert then due, on that call's execution.
//
// # Memory and time
//
// The monitor keeps counts, not calls: each window is a ring of 60 buckets
// (5s wide for the 5-minute window of a 30-day objective, 12h for the 30-day
// one), about 12 KiB in all, whatever the traffic. A window's figures count
// its oldest bucket in proportion to the part of it still inside the window.
// Recording a call takes a lock, three increments and no allocation. Time is
// read with time.Now, on the monotonic clock, so tests drive a monitor
// through days of synthetic traffic in a testing/synctest bubble.
//
// # Telemetry
//
// A monitor registers three gauges on the meter named policy.ScopeName
// (from [WithMeterProvider], the global provider by default):
// resilience.slo.burn_rate{slo, objective, window},
// resilience.slo.sli{slo, objective, window} and
// resilience.slo.error_budget.remaining{slo, objective}, where objective is
// "availability" or "latency" and window a label such as "5m" or "30d".
// Alerting rules can then be written against them directly (the Prometheus
// exporter adds _ratio to the names of gauges of unit 1):
//
//	resilience_slo_burn_rate_ratio{window="1h"} > 14.4
//	  and ignoring(window) resilience_slo_burn_rate_ratio{window="5m"} > 14.4
//
// [Monitor.Close] unregisters the gauges.
package slo
