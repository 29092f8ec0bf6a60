package resiliencegrpc

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// server is what the server interceptors share.
type server struct {
	p   *policy.Pipeline
	cfg config
}

func newServer(p *policy.Pipeline, opts []Option) (*server, error) {
	if p == nil {
		return nil, ErrNilPipeline
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &server{p: p, cfg: cfg}, nil
}

// errRanTwice is what a second attempt of a handler ends with.
var errRanTwice = errors.New("resiliencegrpc: a handler runs once per RPC; the pipeline tried again")

// UnaryServerInterceptor returns an interceptor that runs each unary RPC's
// handler under pipeline p, to shed load with a bulkhead, a rate limiter or
// a timeout:
//
//   - A rejection (an error matching [policy.ErrRejected]) is answered
//     RESOURCE_EXHAUSTED for a rate limit's (an error matching
//     [ratelimit.ErrRateLimited]) and UNAVAILABLE otherwise,
//     with a grpc-retry-pushback-ms trailer from its RetryAfter()
//     time.Duration, or [WithRetryAfter]'s when it has none. The handler
//     does not run.
//   - A time limit that runs out is answered DEADLINE_EXCEEDED; the
//     handler's context is cancelled.
//   - A panic in the handler is recorded on the pipeline's spans (and in the
//     monitor of [WithMonitor]) and answered INTERNAL. It is not raised
//     again: gRPC's server does not recover panics, so one would end the
//     whole process, every other RPC with it.
//   - A status that counts against the server (UNAVAILABLE, INTERNAL,
//     UNKNOWN, DEADLINE_EXCEEDED, DATA_LOSS, ABORTED, RESOURCE_EXHAUSTED) is a
//     failure for the pipeline's policies, though the handler's answer
//     stands.
//
// The handler runs at most once per RPC. It fails when p is nil or an option
// is invalid.
func UnaryServerInterceptor(p *policy.Pipeline, opts ...Option) (grpc.UnaryServerInterceptor, error) {
	s, err := newServer(p, opts)
	if err != nil {
		return nil, err
	}
	return s.unary, nil
}

func (s *server) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	var start time.Time
	if s.cfg.monitor != nil {
		start = time.Now()
	}
	var herr error
	var ran atomic.Bool // a hedge's attempts test it at once
	defer s.recover(start, &err)
	perr := s.p.Execute(ctx, func(actx context.Context) error {
		if ran.Swap(true) {
			return retry.Permanent(errRanTwice)
		}
		resp, herr = handler(actx, req)
		return serverFailure(ctx, actx, herr)
	})
	return resp, s.answer(ctx, start, herr, perr, func(md metadata.MD) { grpc.SetTrailer(ctx, md) })
}

// StreamServerInterceptor returns an interceptor that runs each streaming
// RPC's handler under pipeline p, as [UnaryServerInterceptor] runs unary
// ones: the pipeline holds for the life of the stream, so a bulkhead bounds
// the streams open at once and a timeout their length.
func StreamServerInterceptor(p *policy.Pipeline, opts ...Option) (grpc.StreamServerInterceptor, error) {
	s, err := newServer(p, opts)
	if err != nil {
		return nil, err
	}
	return s.stream, nil
}

func (s *server) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	var start time.Time
	if s.cfg.monitor != nil {
		start = time.Now()
	}
	ctx := ss.Context()
	var herr error
	var ran atomic.Bool // a hedge's attempts test it at once
	defer s.recover(start, &err)
	perr := s.p.Execute(ctx, func(actx context.Context) error {
		if ran.Swap(true) {
			return retry.Permanent(errRanTwice)
		}
		if actx != ctx {
			herr = handler(srv, &serverStream{ServerStream: ss, ctx: actx})
		} else {
			herr = handler(srv, ss)
		}
		return serverFailure(ctx, actx, herr)
	})
	return s.answer(ctx, start, herr, perr, ss.SetTrailer)
}

type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

// serverFailure returns what the pipeline sees of a handler's error: nil for
// a status that is the client's fault, and the time limit's error when it ran
// out, even under a handler that answered late as if it had not.
func serverFailure(ctx, actx context.Context, herr error) error {
	if herr == nil {
		if actx.Done() != ctx.Done() {
			if err := policy.ContextError(actx); err != nil {
				return retry.Permanent(err)
			}
		}
		return nil
	}
	if err := policy.ContextError(actx); err != nil {
		return retry.Permanent(errors.Join(err, herr))
	}
	if bad(status.Code(herr)) {
		return retry.Permanent(herr)
	}
	return nil
}

// bad reports whether an RPC that ended with code is a bad call for an SLO.
func bad(code codes.Code) bool {
	switch code {
	case codes.Unavailable, codes.Internal, codes.Unknown, codes.DeadlineExceeded, codes.DataLoss:
		return true
	}
	return false
}

// answer returns the RPC's error, and records its outcome in the monitor.
func (s *server) answer(ctx context.Context, start time.Time, herr, perr error, setTrailer func(metadata.MD)) error {
	var out error
	outcome := policy.Success
	switch {
	case perr == nil:
		out = herr
	case ctx.Err() != nil && errors.Is(perr, context.Canceled):
		return status.FromContextError(ctx.Err()).Err() // the client went away: not recorded
	case errors.Is(perr, policy.ErrRejected):
		wait := s.cfg.retryAfter
		if ra, ok := errors.AsType[retryAfterer](perr); ok && ra.RetryAfter() > 0 {
			wait = ra.RetryAfter()
		}
		setTrailer(metadata.Pairs(PushbackKey, formatPushback(wait)))
		out, outcome = status.Error(rejectionCode(perr), perr.Error()), policy.Rejected
	case errors.Is(perr, context.DeadlineExceeded):
		out = status.Error(codes.DeadlineExceeded, perr.Error())
	case herr != nil:
		out = herr
	default:
		out = status.Error(codes.Internal, perr.Error())
	}
	if outcome == policy.Success && bad(status.Code(out)) {
		outcome = policy.Failure
	}
	if s.cfg.monitor != nil {
		s.cfg.monitor.Record(outcome, time.Since(start))
	}
	return out
}

// recover turns a panic of the handler, which the pipeline has recorded and
// raised again, into INTERNAL.
func (s *server) recover(start time.Time, err *error) {
	v := recover()
	if v == nil {
		return
	}
	if s.cfg.monitor != nil {
		s.cfg.monitor.Record(policy.Panic, time.Since(start))
	}
	*err = status.Error(codes.Internal, "resiliencegrpc: the handler panicked")
}
