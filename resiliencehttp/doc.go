// Package resiliencehttp runs net/http clients and handlers through a
// [policy.Pipeline], so that a retry, a breaker, a bulkhead, a timeout and an
// SLO monitor protect HTTP calls in one line, correctly.
//
// # Clients
//
// [NewTransport] wraps an http.RoundTripper, and [NewClient] an http.Client:
//
//	p, err := policy.New("payments", retryPolicy, breakerPolicy, perAttemptTimeout)
//	...
//	client, err := resiliencehttp.NewClient(&http.Client{
//		Transport: otelhttp.NewTransport(http.DefaultTransport),
//	}, p)
//	resp, err := client.Get("https://payments.internal/v1/charges")
//
// Each attempt is one RoundTrip of the base transport, with the attempt's
// context. What the transport does for each of them:
//
//   - Bodies. An attempt after the first sends a fresh body from the
//     request's GetBody, which http.NewRequest sets for the bodies it knows
//     (bytes, strings). A request whose body cannot be sent again is
//     attempted once; when it fails in a way worth retrying, its error
//     matches [ErrNotReplayable] and says why there was no retry.
//   - Classification. A [Classifier] judges each response and transport error
//     with a [Verdict]: worth retrying, and counting against the dependency.
//     [DefaultClassifier] retries transport errors and 408, 429, 500, 502, 503
//     and 504, and counts 5xx and 429 as failures. A response that is neither
//     goes to the caller at once. Give a breaker [BreakerClassifier] so that
//     it counts by the verdict (a 408 is retried but is no breaker failure).
//   - Idempotency. Only idempotent requests are retried: GET, HEAD, OPTIONS,
//     TRACE, PUT, DELETE, and any request carrying an Idempotency-Key header.
//     Others are retried only when their connection could not be made, which
//     proves they never reached the server; otherwise their error matches
//     [ErrNotIdempotent]. [WithIdempotent] changes the rule.
//   - Failed responses. A response that counts as failed reaches the pipeline
//     as a [*StatusError]. Its body is read (up to 4 KiB) and closed at once,
//     so that its connection goes back to the pool before the retry's wait;
//     what was read is kept. When the last attempt fails with a response, the
//     caller gets that response, body whole, with a nil error, as http.Client
//     users expect. A rejection (an open breaker, a full bulkhead) is an
//     error that matches [policy.ErrRejected] and the policy's own sentinel.
//   - Retry-After. On a 429 or a 503, a Retry-After in seconds or as an
//     HTTP-date ([ParseRetryAfter]) reaches the retry policy through
//     StatusError's RetryAfter method, and the retry follows its own rules
//     with it: it waits that long instead of its computed delay, capped by
//     its MaxDelay.
//   - Hedging. A hedge in the pipeline (package hedge) sends one request's
//     attempts at once: the caller gets the first response that succeeds,
//     and the transport closes the others.
//   - Attempt header. [WithAttemptHeader] numbers each attempt in a request
//     header, so that a server can tell a retry.
//   - Time limits. A timeout policy in the pipeline bounds each attempt up to
//     its response header; the body returned is then read under the
//     request's own context, for as long as the caller likes.
//
// # Telemetry
//
// With otelhttp's transport as the base, a call's trace reads: the
// pipeline's "<name> execute" span, one "<name> attempt" span per attempt,
// and under each the attempt's own HTTP client span ("HTTP GET"). The
// attempt spans carry http.request.method, server.address, server.port and
// http.response.status_code, and a failed response's error.type is its
// status code, as otelhttp writes it. Request paths appear in no attribute
// this package adds, and the pipeline's metrics carry only its name and
// outcomes, so their cardinality stays bounded.
//
// # Servers
//
// [Handler] wraps an http.Handler to shed load before it hurts: a rejection
// by a bulkhead is answered 503, a rate limiter's 429, both with a
// Retry-After; a time limit that runs out is answered 503 with the handler's
// context cancelled; a panic is recorded and raised again for net/http.
// [WithMonitor] records each request in an slo.Monitor, which gives a
// service its HTTP SLO in one line:
//
//	h, err := resiliencehttp.Handler(mux, p, resiliencehttp.WithMonitor(monitor))
//
// A rejection is answered 429 when its error matches
// [ratelimit.ErrRateLimited], as the errors of package ratelimit and of the
// Redis-backed limiter do. Any other rejection is answered 503.
package resiliencehttp
