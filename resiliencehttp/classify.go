package resiliencehttp

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/aragora/resilience/breaker"
)

// Verdict is how an attempt's outcome counts: whether it is worth another
// attempt, and whether it counts against the dependency.
type Verdict struct {
	// Retry: the attempt failed in a way another attempt may not, such as a
	// reset connection or a 503. The transport's idempotency rules still
	// decide whether the request may be sent again.
	Retry bool
	// Failure: the outcome counts against the dependency: a breaker counts a
	// failure (with [BreakerClassifier]) and the execution's outcome is a
	// failure. A response that is neither Retry nor Failure is a success for
	// the pipeline, whatever its status, and goes to the caller at once.
	Failure bool
}

// A Classifier judges the outcome of one attempt: a response (err nil) or a
// transport error (resp nil). It is called from many goroutines at once and
// must be fast; it must not read or close the response's body.
type Classifier func(resp *http.Response, err error) Verdict

// DefaultClassifier is the classification of a transport made without
// [WithClassifier]:
//   - transport errors (a refused dial, a reset connection, a timeout) are
//     worth retrying and are failures, except the caller's own cancellation;
//   - 408, 429, 500, 502, 503 and 504 are worth retrying;
//   - every 5xx and 429 is a failure; other 4xx, 408 included, are
//     successes for a breaker: the request was at fault, not the server.
func DefaultClassifier(resp *http.Response, err error) Verdict {
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return Verdict{}
		}
		return Verdict{Retry: true, Failure: true}
	}
	switch code := resp.StatusCode; code {
	case http.StatusRequestTimeout:
		return Verdict{Retry: true}
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return Verdict{Retry: true, Failure: true}
	default:
		return Verdict{Failure: code >= 500}
	}
}

// BreakerClassifier is a [breaker.Classifier] that counts a failed response
// by its [Verdict]: a response that was retried without being a Failure,
// such as a 408, is a success for the breaker. Other errors are counted by
// [breaker.DefaultClassifier]. Give it to a breaker in an HTTP pipeline with
// breaker.Config's Classifier; without it, every failed response the
// transport hands to the pipeline (408 included) is a breaker failure.
func BreakerClassifier(err error) breaker.Verdict {
	if se, ok := errors.AsType[*StatusError](err); ok {
		if se.Verdict.Failure {
			return breaker.Failure
		}
		return breaker.Success
	}
	return breaker.DefaultClassifier(err)
}

// idempotentMethod reports whether RFC 9110 calls method idempotent.
func idempotentMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete, "":
		return true
	}
	return false
}

// IdempotencyKeyHeader is the header that makes any request safe to retry:
// the server is expected to apply a request carrying a key it has seen only
// once (the IETF draft "The Idempotency-Key HTTP Header Field").
const IdempotencyKeyHeader = "Idempotency-Key"

// idempotent reports whether req may be sent more than once.
func idempotent(req *http.Request) bool {
	if idempotentMethod(req.Method) {
		return true
	}
	_, ok := req.Header[IdempotencyKeyHeader]
	return ok
}

// neverSent reports whether err proves the request never reached the server:
// the connection could not be made.
func neverSent(err error) bool {
	oe, ok := errors.AsType[*net.OpError](err)
	return ok && oe.Op == "dial"
}
