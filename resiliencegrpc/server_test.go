package resiliencegrpc_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/ratelimit"
	"github.com/aragora/resilience/resiliencegrpc"
	"github.com/aragora/resilience/slo"
	"github.com/aragora/resilience/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// shedding returns the server options of both server interceptors for p.
func shedding(t *testing.T, p *policy.Pipeline, opts ...resiliencegrpc.Option) []grpc.ServerOption {
	t.Helper()
	u, err := resiliencegrpc.UnaryServerInterceptor(p, opts...)
	require.NoError(t, err)
	s, err := resiliencegrpc.StreamServerInterceptor(p, opts...)
	require.NoError(t, err)
	return []grpc.ServerOption{grpc.UnaryInterceptor(u), grpc.StreamInterceptor(s)}
}

func TestLoadSheddingAtTwiceTheLimitLosesNothing(t *testing.T) {
	const limit = 8
	bh, err := bulkhead.New("health", bulkhead.Config{MaxConcurrent: limit})
	require.NoError(t, err)
	inside := make(chan struct{}, limit)
	release := make(chan struct{})
	h := &health{check: func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error) {
		inside <- struct{}{}
		<-release
		return serving, nil
	}}
	c := dial(t, listen(t, h, shedding(t, pipeline(t, bh))...))

	type answer struct {
		code     codes.Code
		pushback []string
	}
	answers := make(chan answer, 2*limit)
	var wg sync.WaitGroup
	for range 2 * limit {
		wg.Go(func() {
			var trailer metadata.MD
			_, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{}, grpc.Trailer(&trailer))
			answers <- answer{status.Code(err), trailer.Get(resiliencegrpc.PushbackKey)}
		})
	}
	for range limit {
		<-inside
	}
	var shed []answer
	for range limit {
		shed = append(shed, <-answers)
	}
	close(release)
	wg.Wait()
	close(answers)
	for _, a := range shed {
		assert.Equal(t, codes.Unavailable, a.code)
		assert.Equal(t, []string{"1000"}, a.pushback)
	}
	var ok int
	for a := range answers {
		assert.Equal(t, codes.OK, a.code)
		ok++
	}
	assert.Equal(t, limit, ok)
	assert.Equal(t, limit, h.Calls(), "each admitted RPC ran once")
}

// limited is a policy that rejects every call as a rate limiter does.
type limited struct{ wait time.Duration }

func (l limited) Run(context.Context, policy.Execution) error {
	return ratelimit.NewRejectedError("limited", 0, l.wait)
}

func TestARateLimitIsResourceExhaustedWithPushback(t *testing.T) {
	h := &health{check: failFirst(0, codes.OK)}
	c := dial(t, listen(t, h, shedding(t, pipeline(t, limited{2500 * time.Millisecond}))...))
	var trailer metadata.MD
	_, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{}, grpc.Trailer(&trailer))
	assert.Equal(t, codes.ResourceExhausted, status.Code(err))
	assert.Equal(t, []string{"2500"}, trailer.Get(resiliencegrpc.PushbackKey))
	assert.Zero(t, h.Calls())

	// A client of ours honours a pushback within its MaxDelay, and stops at
	// once on one beyond it, as on any pause longer than it may wait.
	for _, tc := range []struct {
		pushback, maxDelay time.Duration
		want               []time.Duration
	}{
		{50 * time.Millisecond, time.Second, []time.Duration{50 * time.Millisecond}},
		{2500 * time.Millisecond, 20 * time.Millisecond, nil},
	} {
		var fr fastRetry
		c2 := dial(t, listen(t, h, shedding(t, pipeline(t, limited{tc.pushback}))...),
			resilient(t, pipeline(t, fr.policy(t, 1, tc.maxDelay)))...)
		_, err = c2.Check(context.Background(), &healthpb.HealthCheckRequest{})
		assert.Equal(t, codes.ResourceExhausted, status.Code(err))
		assert.Equal(t, tc.want, fr.Delays(), "pushback %v, MaxDelay %v", tc.pushback, tc.maxDelay)
	}
}

func TestAServerTimeoutCancelsTheHandler(t *testing.T) {
	to, err := timeout.New(30 * time.Millisecond)
	require.NoError(t, err)
	cause := make(chan error, 1)
	h := &health{check: func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error) {
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return nil, ctx.Err()
	}}
	c := dial(t, listen(t, h, shedding(t, pipeline(t, to))...))
	_, err = c.Check(context.Background(), &healthpb.HealthCheckRequest{})
	assert.Equal(t, codes.DeadlineExceeded, status.Code(err))
	assert.ErrorIs(t, <-cause, timeout.ErrTimeout)
}

func TestAPanicIsRecordedAndAnsweredInternal(t *testing.T) {
	m, err := slo.New("health", slo.Objective{Availability: 0.99})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	var healed atomic.Bool
	h := &health{
		check: func(context.Context, int) (*healthpb.HealthCheckResponse, error) {
			if healed.Load() {
				return serving, nil
			}
			panic("handler bug")
		},
		watch: func(grpc.ServerStreamingServer[healthpb.HealthCheckResponse], int) error { panic("stream bug") },
	}
	c := dial(t, listen(t, h, shedding(t, pipeline(t), resiliencegrpc.WithMonitor(m))...))
	_, err = c.Check(context.Background(), &healthpb.HealthCheckRequest{})
	assert.Equal(t, codes.Internal, status.Code(err))
	stream, err := c.Watch(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	_, err = stream.Recv()
	assert.Equal(t, codes.Internal, status.Code(err))
	// The server lives on.
	healed.Store(true)
	_, err = c.Check(context.Background(), &healthpb.HealthCheckRequest{})
	assert.NoError(t, err)

	win := m.Snapshot().Availability.Windows[0]
	assert.Equal(t, 3.0, win.Calls)
	assert.Equal(t, 2.0, win.Bad)
}

func TestTheMonitorRecordsEveryRPC(t *testing.T) {
	m, err := slo.New("health", slo.Objective{Availability: 0.99})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	bh, err := bulkhead.New("health", bulkhead.Config{MaxConcurrent: 1})
	require.NoError(t, err)
	held, hold := make(chan struct{}), make(chan struct{})
	h := &health{check: func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error) {
		switch n {
		case 1:
			return serving, nil
		case 2:
			return nil, status.Error(codes.InvalidArgument, "caller's fault")
		case 3:
			return nil, status.Error(codes.NotFound, "caller's fault")
		case 4:
			return nil, status.Error(codes.Unavailable, "ours")
		case 5:
			return nil, status.Error(codes.Internal, "ours")
		case 6:
			return nil, errors.New("a plain error: UNKNOWN")
		}
		close(held)
		<-hold
		return serving, nil
	}}
	c := dial(t, listen(t, h, shedding(t, pipeline(t, bh), resiliencegrpc.WithMonitor(m))...))
	want := []codes.Code{codes.OK, codes.InvalidArgument, codes.NotFound, codes.Unavailable, codes.Internal, codes.Unknown}
	for i, code := range want {
		_, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{})
		assert.Equal(t, code, status.Code(err), "call %d", i+1)
	}
	done := make(chan error)
	go func() {
		_, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{})
		done <- err
	}()
	<-held
	_, err = c.Check(context.Background(), &healthpb.HealthCheckRequest{})
	assert.Equal(t, codes.Unavailable, status.Code(err), "rejected")
	close(hold)
	assert.NoError(t, <-done)

	win := m.Snapshot().Availability.Windows[0]
	assert.Equal(t, 8.0, win.Calls)
	assert.Equal(t, 4.0, win.Bad, "UNAVAILABLE, INTERNAL, UNKNOWN and the rejection")
}

func TestAStreamHandlerIsShedToo(t *testing.T) {
	bh, err := bulkhead.New("health", bulkhead.Config{MaxConcurrent: 1})
	require.NoError(t, err)
	held, hold := make(chan struct{}), make(chan struct{})
	h := &health{watch: func(s grpc.ServerStreamingServer[healthpb.HealthCheckResponse], n int) error {
		if n == 1 {
			s.Send(serving)
			close(held)
			<-hold
		}
		return nil
	}}
	c := dial(t, listen(t, h, shedding(t, pipeline(t, bh))...))
	first, err := c.Watch(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	_, err = first.Recv()
	require.NoError(t, err)
	<-held
	second, err := c.Watch(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	_, err = second.Recv()
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Equal(t, []string{"1000"}, second.Trailer().Get(resiliencegrpc.PushbackKey))
	close(hold)
	_, err = first.Recv()
	assert.Error(t, err)
	assert.Equal(t, 1, h.Calls())
}
