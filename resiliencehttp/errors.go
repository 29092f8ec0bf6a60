package resiliencehttp

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aragora/resilience/policy"
)

// ErrNotReplayable is matched, through errors.Is, by the error of a request
// that failed in a way worth retrying but was not retried because its body
// cannot be sent again: it has a Body and no GetBody.
var ErrNotReplayable = errors.New("resiliencehttp: the request body cannot be sent again (it has no GetBody)")

// ErrNotIdempotent is matched, through errors.Is, by the error of a request
// that failed in a way worth retrying but was not retried because its method
// is not idempotent, it carries no Idempotency-Key header, and it may have
// reached the server.
var ErrNotIdempotent = errors.New("resiliencehttp: the request is not idempotent and may have reached the server")

// ErrInvalidOption is matched by the error [NewTransport], [NewClient] and
// [Handler] return for an option they cannot use. The message names it.
var ErrInvalidOption = errors.New("resiliencehttp: invalid option")

// StatusError is the error an attempt ends with when its response counts as
// a failure, such as a 503: the pipeline's policies see it, a retry retries
// it, a breaker counts it. The caller of [Transport.RoundTrip] never gets
// it: when the last attempt ends with one, RoundTrip returns the response
// itself, with a nil error, as http.Client users expect.
type StatusError struct {
	StatusCode int           // the response's status code
	Verdict    Verdict       // how the transport's Classifier judged the response
	Wait       time.Duration // the response's Retry-After, on a 429 or a 503; 0 when it had none
	Response   *http.Response
}

// Error returns "resiliencehttp: " and the status, such as
// "resiliencehttp: 503 Service Unavailable".
func (e *StatusError) Error() string {
	return "resiliencehttp: " + strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode)
}

// ErrorType returns the status code, such as "503": the error.type an HTTP
// client span carries in OpenTelemetry's semantic conventions, and so the
// error.type of the attempt span.
func (e *StatusError) ErrorType() string { return strconv.Itoa(e.StatusCode) }

// RetryAfter returns the wait the server asked for with Retry-After, for the
// retry policy: 0, when it asked for none, leaves the retry's own delay.
func (e *StatusError) RetryAfter() time.Duration { return e.Wait }

// NotRetriedError is the error of an attempt that failed in a way worth
// retrying, but that the transport did not let the retry policy retry,
// because doing so was not safe. It matches Reason ([ErrNotReplayable] or
// [ErrNotIdempotent]) and the attempt's error through errors.Is and
// errors.As.
type NotRetriedError struct {
	Reason error // ErrNotReplayable or ErrNotIdempotent
	Err    error // the attempt's error: a transport error or a *StatusError
}

// Error says why the request was not retried, and how it failed.
func (e *NotRetriedError) Error() string {
	return "resiliencehttp: not retried, " + strings.TrimPrefix(e.Reason.Error(), "resiliencehttp: ") + ": " + e.Err.Error()
}

// Unwrap returns Reason and Err.
func (e *NotRetriedError) Unwrap() []error { return []error{e.Reason, e.Err} }

// ErrorType returns the error.type of Err.
func (e *NotRetriedError) ErrorType() string { return policy.ErrorType(e.Err) }
