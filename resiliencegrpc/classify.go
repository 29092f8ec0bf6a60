package resiliencegrpc

import (
	"errors"

	"github.com/aragora/resilience/breaker"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Verdict is how an attempt's status counts: whether it is worth another
// attempt, and whether it counts against the server. It has the shape of
// resiliencehttp's Verdict.
type Verdict struct {
	// Retry: the attempt failed in a way another attempt may not.
	Retry bool
	// Failure: the status counts against the server: a breaker counts a
	// failure (with [BreakerClassifier]), the execution's outcome is a
	// failure. A status that is neither Retry nor Failure is a success for
	// the pipeline, and goes to the caller at once.
	Failure bool
}

// A Classifier judges the status an attempt ended with (never OK), with the
// trailer the server sent, which holds its pushback. It is called from many
// goroutines at once and must be fast.
type Classifier func(st *status.Status, trailer metadata.MD) Verdict

// PushbackKey is the trailer in which a server asks a client to wait before
// it retries, in milliseconds, or not to retry at all (gRFC A6).
const PushbackKey = "grpc-retry-pushback-ms"

// PreviousAttemptsKey is the request metadata in which a retry says how many
// attempts came before it (gRFC A6).
const PreviousAttemptsKey = "grpc-previous-rpc-attempts"

// DefaultClassifier is the classification of gRFC A6 and of the Google API
// guidelines, used unless [WithClassifier] replaces it:
//   - UNAVAILABLE is worth retrying, and RESOURCE_EXHAUSTED too when the
//     server sent pushback (it says when to come back);
//   - UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, UNKNOWN, RESOURCE_EXHAUSTED,
//     ABORTED and DATA_LOSS count against the server;
//   - INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED,
//     UNAUTHENTICATED, FAILED_PRECONDITION, OUT_OF_RANGE and UNIMPLEMENTED
//     are the caller's fault: successes for a breaker, never retried;
//   - CANCELLED is neither.
//
// An attempt that ran out of its own time limit (a timeout policy inside the
// retry) is retried whatever the classifier says; the caller's own deadline
// never is.
func DefaultClassifier(st *status.Status, trailer metadata.MD) Verdict {
	switch st.Code() {
	case codes.Unavailable:
		return Verdict{Retry: true, Failure: true}
	case codes.ResourceExhausted:
		return Verdict{Retry: len(trailer.Get(PushbackKey)) > 0, Failure: true}
	case codes.DeadlineExceeded, codes.Internal, codes.Unknown, codes.Aborted, codes.DataLoss:
		return Verdict{Failure: true}
	}
	return Verdict{}
}

// BreakerClassifier is a [breaker.Classifier] that counts an attempt's
// status by its [Verdict], and other errors with [breaker.DefaultClassifier].
// Give it to the breaker of a gRPC pipeline with breaker.Config's
// Classifier, so that INVALID_ARGUMENT and its kind count as successes.
func BreakerClassifier(err error) breaker.Verdict {
	if se, ok := errors.AsType[*StatusError](err); ok {
		switch {
		case se.Verdict.Failure:
			return breaker.Failure
		case se.Status.Code() == codes.Canceled:
			return breaker.Ignore
		}
		return breaker.Success
	}
	return breaker.DefaultClassifier(err)
}

// codeNames are the canonical names of the codes, as gRPC's specification
// writes them: the error.type of a failed attempt.
var codeNames = [...]string{
	codes.OK:                 "OK",
	codes.Canceled:           "CANCELLED",
	codes.Unknown:            "UNKNOWN",
	codes.InvalidArgument:    "INVALID_ARGUMENT",
	codes.DeadlineExceeded:   "DEADLINE_EXCEEDED",
	codes.NotFound:           "NOT_FOUND",
	codes.AlreadyExists:      "ALREADY_EXISTS",
	codes.PermissionDenied:   "PERMISSION_DENIED",
	codes.ResourceExhausted:  "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION",
	codes.Aborted:            "ABORTED",
	codes.OutOfRange:         "OUT_OF_RANGE",
	codes.Unimplemented:      "UNIMPLEMENTED",
	codes.Internal:           "INTERNAL",
	codes.Unavailable:        "UNAVAILABLE",
	codes.DataLoss:           "DATA_LOSS",
	codes.Unauthenticated:    "UNAUTHENTICATED",
}

func codeName(c codes.Code) string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "UNKNOWN"
}
