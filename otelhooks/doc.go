// Package otelhooks connects the resilience policies to an OpenTelemetry SDK:
// it installs one for an application, and turns the policies' listener
// callbacks into metrics.
//
// The library's packages record their telemetry through the OpenTelemetry
// API only, so that an application chooses the SDK and its exporters. This
// package is that choice made in one call, for applications that want traces
// in Jaeger (or any OTLP backend) and metrics in Prometheus:
//
//	mux := http.NewServeMux()
//	shutdown, err := otelhooks.Setup(ctx,
//		otelhooks.WithServiceName("checkout"),
//		otelhooks.WithServeMux(mux)) // GET /metrics, OpenMetrics with exemplars
//	if err != nil { ... }
//	defer shutdown(context.Background())
//
// With OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 in the environment,
// each execution of a pipeline becomes a trace in Jaeger: one span for the
// execution, one child span per attempt, span events for retries, rejections
// and timeouts. Prometheus scraping /metrics gets
// resilience_execution_duration_seconds, resilience_attempt_duration_seconds
// and resilience_events_total, whose exemplars carry the trace IDs of the
// executions measured.
//
// # Metric callbacks
//
// [NewMetricsCallbacks] returns a [MetricsCallbacks]: a value whose five
// methods have the shapes of the listener callbacks of the breaker, retry,
// timeout and health packages, and count what they hear (breaker state
// changes, retries, exhausted retries, timeouts, health status changes) on
// instruments named after a namespace of the application's:
//
//	cb, err := otelhooks.NewMetricsCallbacks("aragora")
//	t, err := timeout.New(2*time.Second, timeout.WithOnTimeout(cb.TimeoutOccurred))
//
// [RetryOptions], [TimeoutOption], [ObserveBreaker], [ObserveBreakers] and
// [ObserveHealth] attach all of a package's callbacks at once, for these
// callbacks or any other implementation of [Callbacks]:
//
//	r, err := retry.New(retry.Config{}, otelhooks.RetryOptions(cb)...)
//	defer otelhooks.ObserveBreakers(cb, breaker.DefaultRegistry())()
//
// # Latency thresholds as bucket boundaries
//
// A histogram can only tell the calls faster than one of its boundaries from
// the slower ones. For Prometheus to judge a latency objective from
// resilience_execution_duration_seconds, the objective's threshold must be a
// boundary: [WithLatencyBoundaries] adds thresholds to the default buckets of
// both duration histograms, [DurationBoundaries] lists the result, and
// [DurationViews] gives the same views to a meter provider of the caller's:
//
//	shutdown, err := otelhooks.Setup(ctx, otelhooks.WithLatencyBoundaries(obj.Latency))
//
// # Why a module of its own
//
// This package is the module github.com/aragora/resilience/otelhooks, apart
// from the library's: the Prometheus and OTLP exporters bring in gRPC,
// protobuf and the Prometheus client, and a program that imports only the
// policies should not have its versions of those raised by the library's
// go.mod. Import this module in the program's main package, where the SDK
// belongs.
package otelhooks
