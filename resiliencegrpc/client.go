package resiliencegrpc

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/aragora/resilience/hedge"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// client is what the client interceptors share.
type client struct {
	p   *policy.Pipeline
	cfg config
}

func newClient(p *policy.Pipeline, opts []Option) (*client, error) {
	if p == nil {
		return nil, ErrNilPipeline
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &client{p: p, cfg: cfg}, nil
}

// UnaryClientInterceptor returns an interceptor that runs each unary RPC
// through pipeline p: each attempt is one invoke, with the attempt's
// context. Install it with grpc.WithUnaryInterceptor, and turn gRPC's own
// retry off with grpc.WithDisableRetry, so that the two never multiply each
// other's attempts.
//
// A status that the [Classifier] says is worth retrying is retried, waiting
// the server's pushback when it sent one ([ParsePushback]); each retry
// carries grpc-previous-rpc-attempts. When the last attempt fails, the
// caller gets its error as gRPC returned it, so status.Code reads the
// server's code. A rejection by a policy (an open breaker, a full bulkhead)
// is an error that matches [policy.ErrRejected] and the policy's sentinel,
// with status UNAVAILABLE; a time limit of the pipeline ends with
// DEADLINE_EXCEEDED, the caller's cancellation with CANCELLED.
//
// It fails when p is nil or an option is invalid.
func UnaryClientInterceptor(p *policy.Pipeline, opts ...Option) (grpc.UnaryClientInterceptor, error) {
	c, err := newClient(p, opts)
	if err != nil {
		return nil, err
	}
	return c.unary, nil
}

func (c *client) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	a := attempts{c: c, method: method}
	err := c.p.Execute(ctx, func(actx context.Context) error {
		actx = a.start(actx)
		var trailer metadata.MD
		callOpts := append(opts[:len(opts):len(opts)], grpc.Trailer(&trailer))
		return a.judge(ctx, actx, invoker(actx, method, req, reply, cc, callOpts...), trailer)
	})
	return a.finish(ctx, err)
}

// attempts is one RPC's: what its attempts share. A hedge runs attempts at
// once, so n is guarded by mu.
type attempts struct {
	c      *client
	method string
	mu     sync.Mutex
	n      int // attempts started
}

// start counts an attempt, and returns its context with the metadata of a
// retry.
func (a *attempts) start(ctx context.Context) context.Context {
	a.mu.Lock()
	a.n++
	n := a.n
	a.mu.Unlock()
	if policy.AttemptRecording(ctx) {
		service, method := splitMethod(a.method)
		policy.SetAttemptAttributes(ctx, attribute.String("rpc.system", "grpc"),
			attribute.String("rpc.service", service), attribute.String("rpc.method", method))
	}
	if n > 1 {
		ctx = metadata.AppendToOutgoingContext(ctx, PreviousAttemptsKey, strconv.Itoa(n-1))
	}
	return ctx
}

// judge turns an attempt's error into what the pipeline sees.
func (a *attempts) judge(caller, actx context.Context, err error, trailer metadata.MD) error {
	st := status.Convert(err)
	if policy.AttemptRecording(actx) {
		policy.SetAttemptAttributes(actx, attribute.Int("rpc.grpc.status_code", int(st.Code())))
	}
	if err == nil {
		return nil
	}
	if caller.Err() != nil {
		// The caller gave up: nothing to retry, nothing to count.
		return retry.Permanent(&codeError{code: st.Code(), err: err})
	}
	se := &StatusError{Status: st, err: err, rpc: a}
	if attemptTimedOut(caller, actx, st) {
		// The attempt's own time limit ran out: another attempt may be
		// quicker.
		se.Verdict = Verdict{Retry: true, Failure: true}
	} else {
		se.Verdict = a.c.cfg.classify(st, trailer)
	}
	if !se.Verdict.Retry && !se.Verdict.Failure {
		return retry.Permanent(se)
	}
	if pb, ok := ParsePushback(trailer); ok {
		se.Pushback = pb
	}
	if !se.Verdict.Retry {
		return retry.Permanent(se)
	}
	return se
}

// attemptTimedOut reports whether an attempt ended by its own time limit,
// shorter than the caller's: its context's deadline passed, or the server,
// which got the limit as the RPC's deadline, answered DEADLINE_EXCEEDED
// first. An attempt cancelled by a policy (a hedge's loser) did not time out.
func attemptTimedOut(caller, actx context.Context, st *status.Status) bool {
	if actx.Done() == caller.Done() {
		return false
	}
	if err := actx.Err(); err != nil {
		return err == context.DeadlineExceeded
	}
	adl, ok := actx.Deadline()
	if !ok || st.Code() != codes.DeadlineExceeded {
		return false
	}
	cdl, ok := caller.Deadline()
	return !ok || adl.Before(cdl)
}

// finish turns the execution's error into the RPC's.
func (a *attempts) finish(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if se, ok := errors.AsType[*StatusError](err); ok && se.rpc == a && ctx.Err() == nil {
		return se.err // the failure of an attempt of this RPC, as gRPC returned it
	}
	if _, ok := errors.AsType[*codeError](err); ok {
		return err
	}
	switch {
	case errors.Is(err, policy.ErrRejected):
		return &codeError{code: codes.Unavailable, err: err}
	case errors.Is(err, context.Canceled):
		return &codeError{code: codes.Canceled, err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &codeError{code: codes.DeadlineExceeded, err: err}
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return &codeError{code: codes.Unknown, err: err}
}

// splitMethod splits "/package.Service/Method" into its service and method.
func splitMethod(full string) (service, method string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "unknown", full
}

// StreamClientInterceptor returns an interceptor that runs the start of each
// stream through pipeline p. What is protected, and what is retried:
//
//   - A server-streaming RPC (one request, a stream of responses) is retried
//     as gRFC A6 retries it: while no response has been received. The
//     request message is kept, and the pipeline runs when the caller first
//     asks for a response (RecvMsg or Header): each attempt opens the
//     stream, sends the request and waits for the first response, so a
//     timeout policy bounds the time to the first response, and a retry
//     starts over when it fails. Once a response has been received the
//     stream is committed: a later failure goes to the caller and is not
//     retried.
//   - A client-streaming or bidirectional RPC is protected only while the
//     stream is opened: a breaker, a bulkhead and a timeout apply to opening
//     it, and a failure to open it is retried. Messages are never replayed,
//     so nothing is retried once the stream is open.
//
// A hedge in p does not open streams at once: a stream's attempts share the
// caller's message and the stream the caller gets, so they run one at a
// time, and an attempt that waited while another opened the stream ends
// with hedge.ErrLost. A bulkhead's permit is held while the pipeline runs,
// not for the life of the stream. Errors reach the caller as [UnaryClientInterceptor] says. It
// fails when p is nil or an option is invalid.
func StreamClientInterceptor(p *policy.Pipeline, opts ...Option) (grpc.StreamClientInterceptor, error) {
	c, err := newClient(p, opts)
	if err != nil {
		return nil, err
	}
	return c.stream, nil
}

func (c *client) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s := &clientStream{a: attempts{c: c, method: method}, ctx: ctx, desc: desc, cc: cc, streamer: streamer, opts: opts}
	if desc.ServerStreams && !desc.ClientStreams {
		return s, nil // opened at the first RecvMsg or Header
	}
	err := c.p.Execute(ctx, func(actx context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.opened {
			return retry.Permanent(hedge.ErrLost)
		}
		actx = s.a.start(actx)
		sctx, tie := detach(ctx, actx)
		cs, err := streamer(sctx, desc, cc, method, opts...)
		if err == nil {
			err = tie.commit(actx)
		}
		if err != nil {
			tie.release()
			return s.a.judge(ctx, actx, err, nil)
		}
		s.ClientStream, s.tie, s.opened = cs, tie, true
		return nil
	})
	if err != nil {
		return nil, s.a.finish(ctx, err)
	}
	s.started = true
	return s, nil
}

// clientStream is the stream a caller gets.
type clientStream struct {
	grpc.ClientStream // once started
	a                 attempts
	ctx               context.Context
	desc              *grpc.StreamDesc
	cc                *grpc.ClientConn
	streamer          grpc.Streamer
	opts              []grpc.CallOption
	tie               tie

	// mu makes the attempts of a hedge run one at a time: they share the
	// first response's message and the stream the caller gets. opened: an
	// attempt opened the stream; the attempts waiting are not needed.
	mu        sync.Mutex
	opened    bool
	committed error // the failure of an attempt that had received a response

	started bool
	err     error // what starting failed with, returned from then on
	sent    []any // the request, kept until the stream starts
	closed  bool  // CloseSend was called before the stream started
	eof     bool  // the stream ended, OK, before any response
}

func (s *clientStream) SendMsg(m any) error {
	if s.started {
		return s.ClientStream.SendMsg(m)
	}
	if s.err != nil {
		return s.err
	}
	s.sent = append(s.sent, m)
	return nil
}

func (s *clientStream) CloseSend() error {
	if s.started {
		return s.ClientStream.CloseSend()
	}
	s.closed = true
	return nil
}

func (s *clientStream) Context() context.Context {
	if s.started {
		return s.ClientStream.Context()
	}
	return s.ctx
}

func (s *clientStream) Header() (metadata.MD, error) {
	if !s.started {
		if err := s.start(nil); err != nil {
			return nil, err
		}
	}
	return s.ClientStream.Header()
}

func (s *clientStream) Trailer() metadata.MD {
	if !s.started {
		return nil
	}
	return s.ClientStream.Trailer()
}

func (s *clientStream) RecvMsg(m any) error {
	if !s.started {
		if err := s.start(m); err != nil {
			return err
		}
		if s.eof {
			s.tie.release()
			return io.EOF
		}
		return nil // m holds the first response
	}
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.tie.release()
	}
	return err
}

// start runs the pipeline: each attempt opens the stream, sends what was
// sent so far and receives the first response into m (nil: waits for the
// header only).
func (s *clientStream) start(m any) error {
	if s.err != nil {
		return s.err
	}
	err := s.a.c.p.Execute(s.ctx, func(actx context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.opened {
			return retry.Permanent(hedge.ErrLost)
		}
		if s.committed != nil {
			return s.committed
		}
		actx = s.a.start(actx)
		sctx, tie := detach(s.ctx, actx)
		cs, err := s.open(sctx, m)
		received := err == nil && m != nil
		if err == nil {
			err = tie.commit(actx)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			var trailer metadata.MD
			if cs != nil {
				trailer = cs.Trailer()
			}
			tie.release()
			err = s.a.judge(s.ctx, actx, err, trailer)
			if received {
				// The time limit ran out as the first response arrived:
				// the stream is committed, as in gRFC A6, and never
				// opened again.
				err = retry.Permanent(err)
				s.committed = err
			}
			return err
		}
		s.eof = err != nil
		s.ClientStream, s.tie, s.opened = cs, tie, true
		return nil
	})
	if err != nil {
		s.err = s.a.finish(s.ctx, err)
		return s.err
	}
	s.started = true
	s.sent = nil
	return nil
}

func (s *clientStream) open(ctx context.Context, m any) (grpc.ClientStream, error) {
	cs, err := s.streamer(ctx, s.desc, s.cc, s.a.method, s.opts...)
	if err != nil {
		return nil, err
	}
	for _, msg := range s.sent {
		if err := cs.SendMsg(msg); err != nil {
			if err == io.EOF {
				return cs, cs.RecvMsg(msg) // the stream ended: RecvMsg says how
			}
			return cs, err
		}
	}
	if s.closed {
		if err := cs.CloseSend(); err != nil {
			return cs, err
		}
	}
	if m == nil {
		_, err = cs.Header()
		return cs, err
	}
	return cs, cs.RecvMsg(m)
}

// tie links a stream's context to the attempt that opened it only until the
// stream is committed; from then on, only the caller's context ends it.
type tie struct {
	cancel      context.CancelFunc // nil: the stream has the caller's context
	stopAttempt func() bool
	stopCaller  func() bool
}

// detach returns the context to open a stream with in attempt actx of an
// RPC called with ctx.
func detach(ctx, actx context.Context) (context.Context, tie) {
	if actx.Done() == ctx.Done() {
		return actx, tie{}
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(actx))
	return sctx, tie{
		cancel:      cancel,
		stopAttempt: context.AfterFunc(actx, cancel),
		stopCaller:  context.AfterFunc(ctx, cancel),
	}
}

// commit unties the stream from the attempt: it returns the attempt's error
// when the attempt ended first.
func (t tie) commit(actx context.Context) error {
	if t.cancel == nil || t.stopAttempt() {
		return nil
	}
	return status.FromContextError(policy.ContextError(actx)).Err()
}

// release ends the stream's context.
func (t tie) release() {
	if t.cancel != nil {
		t.stopAttempt()
		t.stopCaller()
		t.cancel()
	}
}
