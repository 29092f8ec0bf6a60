package resiliencegrpc

import (
	"errors"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/ratelimit"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrNilPipeline is returned by the interceptors' constructors when their
// pipeline is nil.
var ErrNilPipeline = errors.New("resiliencegrpc: nil pipeline")

// ErrInvalidOption is matched by the error the interceptors' constructors
// return for an option they cannot use. The message names it.
var ErrInvalidOption = errors.New("resiliencegrpc: invalid option")

// StatusError is the error an attempt ends with when its status is not OK:
// the pipeline's policies see it, a retry retries it, a breaker counts it.
// The caller of the RPC never gets it: when the last attempt ends with one,
// the caller gets that attempt's own error, as gRPC returned it.
type StatusError struct {
	Status  *status.Status
	Verdict Verdict // how the Classifier judged the status
	// Pushback is the server's grpc-retry-pushback-ms: the wait it asked
	// for, or -1 when it asked not to be retried (a negative or malformed
	// value); 0 when it sent none.
	Pushback time.Duration
	err      error     // the attempt's error as gRPC returned it
	rpc      *attempts // the RPC whose attempt failed
}

// Error returns "resiliencegrpc: ", the code and the status message.
func (e *StatusError) Error() string {
	return "resiliencegrpc: " + codeName(e.Status.Code()) + ": " + e.Status.Message()
}

// GRPCStatus returns the attempt's status, for status.FromError and
// status.Code.
func (e *StatusError) GRPCStatus() *status.Status { return e.Status }

// ErrorType returns the code's canonical name, such as "UNAVAILABLE": the
// error.type of the attempt span.
func (e *StatusError) ErrorType() string { return codeName(e.Status.Code()) }

// RetryAfter returns Pushback, for the retry policy: a positive wait replaces
// its delay, a negative one stops it, and 0 leaves its own delay.
func (e *StatusError) RetryAfter() time.Duration { return e.Pushback }

// codeError gives an error of ours a gRPC status, so that callers who read
// codes read one, while errors.Is and errors.As still see the error.
type codeError struct {
	code codes.Code
	err  error
}

func (e *codeError) Error() string              { return e.err.Error() }
func (e *codeError) Unwrap() error              { return e.err }
func (e *codeError) GRPCStatus() *status.Status { return status.New(e.code, e.err.Error()) }
func (e *codeError) ErrorType() string          { return policy.ErrorType(e.err) }

// retryAfterer is an error that says when to come back.
type retryAfterer interface {
	error
	RetryAfter() time.Duration
}

// rejectionCode returns the code a rejection is answered with.
func rejectionCode(err error) codes.Code {
	if errors.Is(err, ratelimit.ErrRateLimited) {
		return codes.ResourceExhausted
	}
	return codes.Unavailable
}
