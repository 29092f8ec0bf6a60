// Package health runs health checks, keeps their status with failure
// thresholds, serves it over HTTP, and derives health from the state of the
// resilience policies themselves.
//
// A [Checker] holds named checks, each a function that returns nil when the
// thing it checks works:
//
//	c, err := health.NewChecker("api", health.Config{CheckInterval: 10 * time.Second})
//	...
//	c.Register("postgres", func(ctx context.Context) error { return db.PingContext(ctx) })
//	c.RegisterBreaker("payments", health.BreakerOpen(paymentsBreaker))
//	c.Start(ctx)
//	defer c.Stop()
//	http.Handle("/readyz", c.ReadinessHandler())
//	http.Handle("/livez", c.LivenessHandler())
//
// # Statuses and thresholds
//
// A check is [Unknown] until its first run ends. A failed run counts toward
// the check's failure threshold (Config.FailureThreshold, 3 by default), and
// a check stays [Healthy] until that many runs in a row have failed: two
// failures then a success leave it healthy, three failures make it failing.
// A failing critical check is [Unhealthy], a failing non-critical one
// [Degraded] ([WithCritical]); an error matching [ErrDegraded] is Degraded
// either way. One passing run makes a check Healthy again. The checker's
// overall status is the most severe of its checks', and Healthy with no
// checks. A critical check not run yet ranks between Degraded and
// Unhealthy: until every critical check has a result, the overall status is
// Unknown (or Unhealthy) and readiness fails closed, whatever the other
// checks say. A non-critical check not run yet does not count: it could at
// worst make the checker Degraded.
//
// # Running checks
//
// [Checker.CheckAll] runs every check concurrently, each bounded by its
// timeout: a check that ignores its context fails with [ErrTimeout] at its
// timeout, and its goroutine, still counted, is waited for by
// [Checker.Stop]. [Checker.Start] runs the checks in the background, each
// on a schedule of its own: a check runs again CheckInterval (less a random
// jitter of up to 10%, [WithJitter]) after its previous run ended, so a
// check that hangs until a long timeout holds back no other check.
// [Checker.Report] returns the latest results without running anything.
// A check that panics fails with a *policy.PanicError; the panic goes no
// further. A check that calls runtime.Goexit fails with [ErrGoexit].
//
// # Listeners
//
// [Checker.OnStatusChange] adds a listener of status changes: each change
// of a check's status, and of the checker's overall status (Check ""), is
// delivered once, in order, after the checker's lock is released.
//
// # Health from resilience state
//
// [Checker.RegisterBreaker], [Checker.RegisterBulkhead] and
// [Checker.RegisterSLO] register checks that read a policy's state rather
// than probe a dependency: an open breaker makes the checker Degraded
// (Unhealthy if registered critical), a saturated bulkhead Degraded, a
// page-level SLO burn alert Degraded. They take a func() bool, so any state
// can be read; [BreakerOpen], [BulkheadSaturated] and [SLOPaging] make one
// from this module's breaker, bulkhead and SLO monitor.
//
// # HTTP
//
// [Checker.Handler] (the readiness endpoint) and [Checker.LivenessHandler]
// serve application/health+json in the shape of the IETF health-check draft:
// "status" pass, warn or fail, and a "checks" map, with 200 for pass and warn
// and 503 for fail. Error texts stay out of the body unless the operator
// allows them with [WithErrorDetails]. Liveness counts only checks marked
// with [WithLiveness], so that a downstream outage never gets a healthy
// process restarted.
//
// # Telemetry
//
// Health checks are not pipeline executions, so the checker records its own
// spans, on a tracer of the scope policy.ScopeName: one span per CheckAll
// ("<checker> check_all") with a child per check run ("<checker>/<check>
// check") carrying its outcome, status and error (a run of the background
// loop, which has no CheckAll, is a span of its own, a child of the span in
// Start's context if any); a span event
// ([EventStatusChange]) on the run that changed a status; and the gauge
// resilience.health.status{checker, check, status}, 1 for the current status
// and 0 for the others. Providers default to the otel globals
// ([WithTracerProvider], [WithMeterProvider]).
package health
