package resiliencehttp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
	"go.opentelemetry.io/otel/attribute"
)

// ErrNilPipeline is returned by [NewTransport], [NewClient] and [Handler]
// when their pipeline is nil.
var ErrNilPipeline = errors.New("resiliencehttp: nil pipeline")

// ErrNoResponse is returned by [Transport.RoundTrip] when its pipeline
// succeeds without any attempt having returned a response: a fallback policy
// turned a failure into a success, which a RoundTripper cannot pass on.
var ErrNoResponse = errors.New("resiliencehttp: the pipeline succeeded without a response")

// drainLimit bounds what a failed response's body is read of, so that its
// connection can go back to the pool: beyond it, closing the connection is
// cheaper than reading on.
const drainLimit = 4 << 10

// Transport is an [http.RoundTripper] that runs every request through a
// pipeline: each attempt is one RoundTrip of the base transport, with the
// attempt's context, so that a retry, a breaker, a bulkhead and a timeout in
// the pipeline apply to HTTP as they do to any function. It is safe for
// concurrent use, and keeps the RoundTripper contract: it never modifies the
// request, and closes every body it does not return.
type Transport struct {
	base http.RoundTripper
	p    *policy.Pipeline
	cfg  config
}

var _ http.RoundTripper = (*Transport)(nil)

// NewTransport returns a transport that sends requests through base (nil
// means http.DefaultTransport) under pipeline p. Give it an
// otelhttp.NewTransport as base, and each attempt has its own HTTP client
// span under the pipeline's attempt span. It fails when p is nil or an option
// is invalid.
func NewTransport(base http.RoundTripper, p *policy.Pipeline, opts ...Option) (*Transport, error) {
	if p == nil {
		return nil, ErrNilPipeline
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{base: base, p: p, cfg: cfg}, nil
}

// NewClient returns a copy of c (nil means a zero http.Client) whose
// Transport is c's own wrapped by [NewTransport] with p and opts. The
// client's Timeout, when set, bounds the whole call: every attempt, every
// wait between them and the reading of the body.
func NewClient(c *http.Client, p *policy.Pipeline, opts ...Option) (*http.Client, error) {
	var cc http.Client
	if c != nil {
		cc = *c
	}
	t, err := NewTransport(cc.Transport, p, opts...)
	if err != nil {
		return nil, err
	}
	cc.Transport = t
	return &cc, nil
}

// RoundTrip sends req through the pipeline. It returns the response of the
// last attempt with a nil error when that attempt got one, even a failed one
// (a 503 after the retries ran out), with its body intact, as http.Client
// users expect; and the error the execution ended with otherwise: a
// transport error, the caller's cancellation, or a rejection that matches
// [policy.ErrRejected] and the rejecting policy's own sentinel (an open
// breaker's, a full bulkhead's).
//
// The pipeline's time limits bound each attempt up to its response header;
// the body of the response returned is then read under the request's own
// context, as long as the caller likes.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := call{t: t, req: req}
	defer c.cleanup() // also when the pipeline re-raises a panic
	err := t.p.Execute(req.Context(), c.attempt)
	return c.finish(err)
}

// call is one RoundTrip: what its attempts share. A hedge in the pipeline
// runs attempts at once, so the fields below mu are guarded by it.
type call struct {
	t   *Transport
	req *http.Request

	mu       sync.Mutex
	n        int            // attempts started
	bodySent bool           // req.Body was handed to the base transport, which closes it
	won      *http.Response // the first response that counts as a success
	parked   *http.Response // the last failed response, drained (park)
	done     bool           // finish ran
}

func (c *call) attempt(ctx context.Context) error {
	recording := policy.AttemptRecording(ctx)
	if recording {
		c.annotateRequest(ctx)
	}
	rctx, cancel := c.context(ctx)
	c.mu.Lock()
	if c.parked != nil {
		// A failed response, parked: its connection is already back in the
		// pool, or closed when its body was too large to drain.
		c.parked.Body.Close()
		c.parked = nil
	}
	c.n++
	r, err := c.request(rctx, c.n)
	c.mu.Unlock()
	if err != nil {
		cancel.release()
		return retry.Permanent(err)
	}
	resp, err := c.t.base.RoundTrip(r)
	resp, err = cancel.bind(ctx, resp, err)
	if err != nil {
		if v := c.t.cfg.classify(nil, err); !v.Retry {
			return retry.Permanent(err)
		}
		if reason := c.unsafe(err); reason != nil {
			return retry.Permanent(&NotRetriedError{Reason: reason, Err: err})
		}
		return err
	}
	if recording {
		policy.SetAttemptAttributes(ctx, attribute.Int("http.response.status_code", resp.StatusCode))
	}
	v := c.classifyResponse(resp)
	if !v.Retry && !v.Failure {
		c.mu.Lock()
		first := c.won == nil
		if first {
			c.won = resp
		}
		c.mu.Unlock()
		if !first {
			// A hedged attempt that succeeded after another: the caller
			// gets the first response, and this one is closed.
			resp.Body.Close()
		}
		return nil
	}
	se := &StatusError{StatusCode: resp.StatusCode, Verdict: v, Response: resp}
	if v.Retry && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		se.Wait, _ = ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	park(resp)
	c.mu.Lock()
	old := c.parked
	c.parked = resp
	c.mu.Unlock()
	if old != nil {
		old.Body.Close() // a concurrent attempt's: this one ended later
	}
	if !v.Retry {
		return retry.Permanent(se)
	}
	if reason := c.unsafe(nil); reason != nil {
		return retry.Permanent(&NotRetriedError{Reason: reason, Err: se})
	}
	return se
}

// classifyResponse classifies resp, and closes it when the classifier
// panics: the attempt does not hold it yet.
func (c *call) classifyResponse(resp *http.Response) Verdict {
	classified := false
	defer func() {
		if !classified {
			resp.Body.Close()
		}
	}()
	v := c.t.cfg.classify(resp, nil)
	classified = true
	return v
}

// unsafe returns why the request may not be sent again after failing with
// err (nil for a failed response), or nil when it may.
func (c *call) unsafe(err error) error {
	req := c.req
	if hasBody(req) && req.GetBody == nil {
		return ErrNotReplayable
	}
	if !c.t.cfg.idempotent(req) && (err == nil || !neverSent(err)) {
		return ErrNotIdempotent
	}
	return nil
}

func hasBody(req *http.Request) bool { return req.Body != nil && req.Body != http.NoBody }

// request returns the request of attempt n, with ctx: req itself when
// nothing differs, else a shallow copy with a fresh body and its own header.
// It is called with c.mu held.
func (c *call) request(ctx context.Context, n int) (*http.Request, error) {
	req := c.req
	r := req
	if ctx != req.Context() {
		r = req.WithContext(ctx)
	}
	if hasBody(req) {
		if c.bodySent {
			if req.GetBody == nil {
				return nil, ErrNotReplayable
			}
			body, err := req.GetBody()
			if err != nil {
				return nil, errors.Join(errors.New("resiliencehttp: GetBody failed"), err)
			}
			if r == req {
				r = req.WithContext(ctx)
			}
			r.Body = body
		}
		c.bodySent = true
	}
	if name := c.t.cfg.attemptHeader; name != "" {
		if r == req {
			r = req.WithContext(ctx)
		}
		r.Header = req.Header.Clone()
		if r.Header == nil {
			r.Header = make(http.Header, 1)
		}
		r.Header[name] = []string{strconv.Itoa(n)}
	}
	return r, nil
}

// finish turns the execution's error into RoundTrip's results. Every
// attempt has returned by then: nothing else touches c.
func (c *call) finish(err error) (*http.Response, error) {
	c.done = true
	if hasBody(c.req) && !c.bodySent {
		c.req.Body.Close() // no attempt ran: the body is still ours to close
	}
	won, parked := c.won, c.parked
	c.won, c.parked = nil, nil
	var resp *http.Response
	switch {
	case err == nil:
		resp = won
	case parked != nil && c.req.Context().Err() == nil:
		if se, ok := errors.AsType[*StatusError](err); ok && se.Response == parked {
			resp = parked // the last attempt's failed response, for the caller to read
		}
	}
	for _, r := range []*http.Response{won, parked} {
		if r != nil && r != resp {
			r.Body.Close()
		}
	}
	if err == nil && resp == nil {
		return nil, ErrNoResponse
	}
	if resp != nil {
		return resp, nil
	}
	return nil, err
}

// cleanup closes what a panic left open.
func (c *call) cleanup() {
	if c.done {
		return
	}
	for _, r := range []*http.Response{c.won, c.parked} {
		if r != nil {
			r.Body.Close()
		}
	}
	if hasBody(c.req) && !c.bodySent {
		c.req.Body.Close()
	}
}

func (c *call) annotateRequest(ctx context.Context) {
	u := c.req.URL
	attrs := make([]attribute.KeyValue, 0, 3)
	attrs = append(attrs, attribute.String("http.request.method", methodAttr(c.req.Method)))
	if u != nil {
		attrs = append(attrs, attribute.String("server.address", u.Hostname()))
		if p, err := strconv.Atoi(u.Port()); err == nil {
			attrs = append(attrs, attribute.Int("server.port", p))
		}
	}
	policy.SetAttemptAttributes(ctx, attrs...)
}

// methodAttr returns the http.request.method of method: the method itself
// when it is one of the standard ones, "_OTHER" otherwise, as the semantic
// conventions ask, to keep the attribute's values a bounded set.
func methodAttr(method string) string {
	switch method {
	case "":
		return http.MethodGet
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "_OTHER"
}

// park reads the body of a failed response, up to drainLimit, so that its
// connection goes back to the pool before the retry's wait, and replaces it
// with what was read, so that the caller still gets it whole when this turns
// out to be the last attempt. A body longer than the limit keeps the rest
// unread; its connection is lost either way.
func park(resp *http.Response) {
	body := resp.Body
	buf, err := io.ReadAll(io.LimitReader(body, drainLimit+1))
	switch {
	case err != nil:
		body.Close()
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(buf), errReader{err}))
	case len(buf) <= drainLimit:
		body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(buf))
	default:
		resp.Body = &readCloser{Reader: io.MultiReader(bytes.NewReader(buf), body), Closer: body}
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

type readCloser struct {
	io.Reader
	io.Closer
}

// attemptContext is the context an attempt's request runs with, when the
// pipeline gave the attempt a context of its own (a timeout policy's): one
// that the attempt's end cancels only while the response header is awaited,
// so that the body stays readable once the attempt's function has returned,
// and that the caller's context cancels at any time.
type attemptContext struct {
	cancel context.CancelCauseFunc // nil: the attempt runs with the caller's context
	stop   func() bool
	caller context.Context
}

func (c *call) context(ctx context.Context) (context.Context, attemptContext) {
	caller := c.req.Context()
	if ctx.Done() == caller.Done() {
		return ctx, attemptContext{}
	}
	rctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	return rctx, attemptContext{cancel: cancel, stop: stop, caller: caller}
}

func (a attemptContext) release() {
	if a.cancel != nil {
		a.stop()
		a.cancel(nil)
	}
}

// bind ends the attempt context's tie to the attempt once the base transport
// returned, and ties the response body to the caller's context instead.
func (a attemptContext) bind(ctx context.Context, resp *http.Response, err error) (*http.Response, error) {
	if a.cancel == nil {
		return resp, err
	}
	if !a.stop() {
		// The attempt's context ended during the round trip: whatever came
		// back is cut off.
		if resp != nil {
			resp.Body.Close()
		}
		a.cancel(nil)
		return nil, policy.ContextError(ctx)
	}
	if err != nil {
		a.cancel(nil)
		return nil, err
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, nil // the body is the connection: the caller owns it
	}
	stop := context.AfterFunc(a.caller, func() { a.cancel(context.Cause(a.caller)) })
	resp.Body = &boundBody{ReadCloser: resp.Body, stop: stop, cancel: a.cancel}
	return resp, nil
}

type boundBody struct {
	io.ReadCloser
	stop   func() bool
	cancel context.CancelCauseFunc
}

func (b *boundBody) Close() error {
	err := b.ReadCloser.Close()
	b.stop()
	b.cancel(nil)
	return err
}

// CloseIdleConnections closes the idle connections of the base transport,
// when it has such a method, as http.Client.CloseIdleConnections expects.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
