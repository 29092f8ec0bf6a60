package resiliencehttp

import (
	"bufio"
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/ratelimit"
	"github.com/aragora/resilience/retry"
)

// handler is what Handler returns.
type handler struct {
	h   http.Handler
	p   *policy.Pipeline
	cfg config
}

// Handler returns an http.Handler that serves each request with h under
// pipeline p, to shed load before it hurts: put a bulkhead, a rate limiter
// or a timeout in p.
//
//   - A rejection (an error matching [policy.ErrRejected], such as a full
//     bulkhead's) is answered 503 Service Unavailable, or 429 Too Many
//     Requests for a rate limit's (an error matching
//     [ratelimit.ErrRateLimited]), with a Retry-After of the
//     rejection's RetryAfter() time.Duration, or [WithRetryAfter]'s when it
//     has none. h does not run.
//   - A time limit that runs out before h wrote its response header is
//     answered 503, without the header fields h set for the response it
//     never sent; h's context is cancelled, and its writes after the limit
//     fail with http.ErrHandlerTimeout. A header already written cannot be
//     taken back: the response is then cut short.
//   - A panic in h is recorded on the pipeline's spans (and in the monitor of
//     [WithMonitor]) and raised again with its own value, so that net/http
//     does what it does with panics, http.ErrAbortHandler included.
//   - A response with a 5xx status is a failure for the pipeline's policies
//     (an SLO monitor in it, a breaker), though h's response stands.
//
// h runs at most once per request, on the request's goroutine: a retry in p
// would have nothing to retry, and finds the failure permanent. Handler
// fails when h or p is nil or an option is invalid.
func Handler(h http.Handler, p *policy.Pipeline, opts ...Option) (http.Handler, error) {
	if h == nil {
		return nil, errors.New("resiliencehttp: nil handler")
	}
	if p == nil {
		return nil, ErrNilPipeline
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &handler{h: h, p: p, cfg: cfg}, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.cfg.monitor == nil {
		sw := serveWriter{w: w, r: r, h: h}
		sw.respond(h.p.Execute(r.Context(), sw.serve))
		return
	}
	start := time.Now()
	sw := serveWriter{w: w, r: r, h: h}
	defer func() {
		if v := recover(); v != nil {
			h.cfg.monitor.Record(policy.Panic, time.Since(start))
			panic(v)
		}
	}()
	outcome, record := sw.respond(h.p.Execute(r.Context(), sw.serve))
	if record {
		h.cfg.monitor.Record(outcome, time.Since(start))
	}
}

// errRanTwice is what a second attempt of a handler ends with.
var errRanTwice = errors.New("resiliencehttp: a handler runs once per request; the pipeline tried again")

// serveWriter is the ResponseWriter h writes to: it knows the status written,
// and refuses writes once the attempt's time limit ran out.
type serveWriter struct {
	w      http.ResponseWriter
	r      *http.Request
	h      *handler
	ctx    context.Context // the attempt's, when it is not the request's; nil otherwise
	status int             // the status written; 0 before the header, -1 once hijacked
	ran    atomic.Bool     // a hedge's attempts test it at once
	entry  http.Header     // the response header before h ran, when it had any
}

// serve is the pipeline's function: one run of the handler.
func (sw *serveWriter) serve(ctx context.Context) error {
	if sw.ran.Swap(true) {
		return retry.Permanent(errRanTwice)
	}
	r := sw.r
	if ctx != r.Context() {
		r = r.WithContext(ctx)
		if ctx.Done() != sw.r.Context().Done() {
			sw.ctx = ctx
		}
	}
	if hdr := sw.w.Header(); len(hdr) > 0 {
		sw.entry = hdr.Clone()
	}
	sw.h.h.ServeHTTP(sw, r)
	switch {
	case sw.status == 0 || sw.late():
		// Unanswered, or cut short: when the time limit ran out, the
		// execution fails with it, and an unanswered request gets a 503.
		return retry.Permanent(policy.ContextError(ctx))
	case sw.status >= 500:
		return retry.Permanent(&StatusError{StatusCode: sw.status, Verdict: Verdict{Failure: true}})
	}
	return nil
}

// respond answers what the handler did not, and returns the request's
// outcome for an SLO, and whether to record it.
func (sw *serveWriter) respond(err error) (policy.Outcome, bool) {
	if err == nil {
		if sw.status >= 500 {
			return policy.Failure, true
		}
		return policy.Success, true
	}
	if sw.r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		return policy.Failure, false // the client went away: nothing to answer
	}
	outcome := policy.OutcomeOf(err)
	if sw.status != 0 {
		return outcome, true // answered already, by the handler
	}
	if sw.ran.Load() {
		// The header h set was for a response it never sent.
		hdr := sw.w.Header()
		clear(hdr)
		maps.Copy(hdr, sw.entry)
	}
	code := http.StatusInternalServerError
	switch {
	case outcome == policy.Rejected:
		code = http.StatusServiceUnavailable
		if errors.Is(err, ratelimit.ErrRateLimited) {
			code = http.StatusTooManyRequests
		}
		wait := sw.h.cfg.retryAfter
		if ra, ok := errors.AsType[retryAfterer](err); ok && ra.RetryAfter() > 0 {
			wait = ra.RetryAfter()
		}
		sw.w.Header().Set("Retry-After", formatRetryAfter(wait))
	case errors.Is(err, context.DeadlineExceeded):
		code = http.StatusServiceUnavailable
	}
	http.Error(sw.w, http.StatusText(code), code)
	return outcome, true
}

// retryAfterer is an error that says when to come back.
type retryAfterer interface {
	error
	RetryAfter() time.Duration
}

// late reports whether the attempt's time limit has run out.
func (sw *serveWriter) late() bool { return sw.ctx != nil && sw.ctx.Err() != nil }

// Header returns the header of the response.
func (sw *serveWriter) Header() http.Header { return sw.w.Header() }

// WriteHeader writes the response header, unless the time limit ran out.
func (sw *serveWriter) WriteHeader(code int) {
	if sw.late() {
		return
	}
	if sw.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		sw.status = code
	}
	sw.w.WriteHeader(code)
}

// Write writes to the response body, and fails with http.ErrHandlerTimeout
// once the time limit ran out.
func (sw *serveWriter) Write(b []byte) (int, error) {
	if sw.late() {
		return 0, http.ErrHandlerTimeout
	}
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	return sw.w.Write(b)
}

// Flush sends what was written so far, unless the time limit ran out.
func (sw *serveWriter) Flush() {
	_ = sw.FlushError()
}

// FlushError is Flush, for http.ResponseController.
func (sw *serveWriter) FlushError() error {
	if sw.late() {
		return http.ErrHandlerTimeout
	}
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	return http.NewResponseController(sw.w).Flush()
}

// Hijack hands the connection over to the handler, as http.Hijacker does.
func (sw *serveWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if sw.late() {
		return nil, nil, http.ErrHandlerTimeout
	}
	conn, rw, err := http.NewResponseController(sw.w).Hijack()
	if err == nil {
		sw.status = -1
	}
	return conn, rw, err
}

// Unwrap returns the ResponseWriter of net/http, for
// http.ResponseController.
func (sw *serveWriter) Unwrap() http.ResponseWriter { return sw.w }

var (
	_ http.Flusher  = (*serveWriter)(nil)
	_ http.Hijacker = (*serveWriter)(nil)
)
