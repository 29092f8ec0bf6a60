package resiliencegrpc_test

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/resiliencegrpc"
	"github.com/aragora/resilience/retry"
	"github.com/aragora/resilience/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func failFirst(n int, code codes.Code, pushback ...string) func(context.Context, int) (*healthpb.HealthCheckResponse, error) {
	return func(ctx context.Context, i int) (*healthpb.HealthCheckResponse, error) {
		if i <= n {
			if len(pushback) > 0 {
				grpc.SetTrailer(ctx, metadata.Pairs(resiliencegrpc.PushbackKey, pushback[0]))
			}
			return nil, status.Errorf(code, "scripted failure %d", i)
		}
		return serving, nil
	}
}

func TestUnavailableIsRetriedWithThePreviousAttempts(t *testing.T) {
	h := &health{check: failFirst(2, codes.Unavailable)}
	var fr fastRetry
	c := dial(t, listen(t, h), resilient(t, pipeline(t, fr.policy(t, 3, time.Second)))...)

	resp, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.Status)
	assert.Equal(t, []string{"", "1", "2"}, h.Previous(), "grpc-previous-rpc-attempts as the server saw it")
}

func TestTheLastFailureReachesTheCallerAsGRPCReturnedIt(t *testing.T) {
	h := &health{check: failFirst(100, codes.Unavailable)}
	var fr fastRetry
	c := dial(t, listen(t, h), resilient(t, pipeline(t, fr.policy(t, 2, time.Second)))...)
	_, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{})
	st, ok := status.FromError(err)
	require.True(t, ok)
	assert.Equal(t, codes.Unavailable, st.Code())
	assert.Equal(t, "scripted failure 3", st.Message())
	assert.Equal(t, 3, h.Calls())
}

func TestPushback(t *testing.T) {
	cases := []struct {
		name     string
		code     codes.Code
		pushback []string
		calls    int
		delays   []time.Duration
	}{
		{"unavailable 50ms", codes.Unavailable, []string{"50"}, 2, []time.Duration{50 * time.Millisecond}},
		{"unavailable 0", codes.Unavailable, []string{"0"}, 2, []time.Duration{time.Millisecond}}, // the retry's own delay
		{"unavailable -1", codes.Unavailable, []string{"-1"}, 1, nil},
		{"unavailable garbage", codes.Unavailable, []string{"soon"}, 1, nil},
		{"resource exhausted 50ms", codes.ResourceExhausted, []string{"50"}, 2, []time.Duration{50 * time.Millisecond}},
		{"resource exhausted -1", codes.ResourceExhausted, []string{"-1"}, 1, nil},
		{"resource exhausted without pushback", codes.ResourceExhausted, nil, 1, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &health{check: failFirst(1, tc.code, tc.pushback...)}
			var fr fastRetry
			c := dial(t, listen(t, h), resilient(t, pipeline(t, fr.policy(t, 2, time.Second)))...)
			_, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{})
			assert.Equal(t, tc.calls, h.Calls())
			assert.Equal(t, tc.delays, fr.Delays())
			if tc.calls == 1 {
				assert.Equal(t, tc.code, status.Code(err))
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestAHangingServerTimesOutTheAttempt(t *testing.T) {
	h := &health{check: func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error) {
		if n == 1 {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return serving, nil
	}}
	var fr fastRetry
	to, err := timeout.New(50 * time.Millisecond)
	require.NoError(t, err)
	c := dial(t, listen(t, h), resilient(t, pipeline(t, fr.policy(t, 2, time.Second), to))...)
	_, err = c.Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	assert.Equal(t, 2, h.Calls())

	// The caller's own deadline is not retried.
	h2 := &health{check: func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	c2 := dial(t, listen(t, h2), resilient(t, pipeline(t, fr.policy(t, 2, time.Second)))...)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c2.Check(ctx, &healthpb.HealthCheckRequest{})
	assert.Equal(t, codes.DeadlineExceeded, status.Code(err))
	assert.Equal(t, 1, h2.Calls())
}

func TestAStreamIsRetriedUntilItsFirstMessage(t *testing.T) {
	h := &health{watch: func(s grpc.ServerStreamingServer[healthpb.HealthCheckResponse], n int) error {
		if n == 1 {
			return status.Error(codes.Unavailable, "not yet")
		}
		s.Send(serving)
		s.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING})
		return nil
	}}
	var fr fastRetry
	to, err := timeout.New(time.Second) // to the first message
	require.NoError(t, err)
	c := dial(t, listen(t, h), resilient(t, pipeline(t, fr.policy(t, 2, time.Second), to))...)
	stream, err := c.Watch(context.Background(), &healthpb.HealthCheckRequest{Service: "db"})
	require.NoError(t, err)
	var got []healthpb.HealthCheckResponse_ServingStatus
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		got = append(got, m.Status)
	}
	assert.Equal(t, []healthpb.HealthCheckResponse_ServingStatus{healthpb.HealthCheckResponse_SERVING, healthpb.HealthCheckResponse_NOT_SERVING}, got)
	assert.Equal(t, []string{"", "1"}, h.Previous())
}

func TestAStreamThatFailedAfterAMessageIsNotRetried(t *testing.T) {
	h := &health{watch: func(s grpc.ServerStreamingServer[healthpb.HealthCheckResponse], n int) error {
		s.Send(serving)
		return status.Error(codes.Unavailable, "gone")
	}}
	var fr fastRetry
	c := dial(t, listen(t, h), resilient(t, pipeline(t, fr.policy(t, 2, time.Second)))...)
	stream, err := c.Watch(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	m, err := stream.Recv()
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, m.Status)
	_, err = stream.Recv()
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Equal(t, 1, h.Calls())
}

func TestTheBreakerTripsOnUnavailableNotOnInvalidArgument(t *testing.T) {
	var code atomic.Uint32
	h := &health{check: func(context.Context, int) (*healthpb.HealthCheckResponse, error) {
		return nil, status.Error(codes.Code(code.Load()), "scripted")
	}}
	br, err := breaker.New("health", breaker.Config{FailureThreshold: 2, Classifier: resiliencegrpc.BreakerClassifier})
	require.NoError(t, err)
	c := dial(t, listen(t, h), resilient(t, pipeline(t, br))...)
	ctx := context.Background()

	code.Store(uint32(codes.InvalidArgument))
	for range 5 {
		_, err := c.Check(ctx, &healthpb.HealthCheckRequest{})
		assert.Equal(t, codes.InvalidArgument, status.Code(err))
	}
	assert.Equal(t, breaker.Closed, br.State())
	code.Store(uint32(codes.Unavailable))
	for range 2 {
		_, err := c.Check(ctx, &healthpb.HealthCheckRequest{})
		assert.Equal(t, codes.Unavailable, status.Code(err))
	}
	assert.Equal(t, breaker.Open, br.State())
	_, err = c.Check(ctx, &healthpb.HealthCheckRequest{})
	assert.ErrorIs(t, err, breaker.ErrOpen)
	assert.ErrorIs(t, err, policy.ErrRejected)
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Equal(t, 7, h.Calls(), "the rejected call never reached the server")
}

func TestAClientCancellingMidRetry(t *testing.T) {
	h := &health{check: failFirst(100, codes.Unavailable, "30000")}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The retry is scheduled, with the server's 30s pushback, when the
	// caller gives up.
	r, err := retry.New(retry.Config{MaxDelay: time.Minute}, retry.WithOnRetry(func(_ string, _ int, d time.Duration) {
		assert.Equal(t, 30*time.Second, d)
		cancel()
	}))
	require.NoError(t, err)
	c := dial(t, listen(t, h), resilient(t, pipeline(t, r))...)
	start := time.Now()
	_, err = c.Check(ctx, &healthpb.HealthCheckRequest{})
	assert.Equal(t, codes.Canceled, status.Code(err))
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Equal(t, 1, h.Calls())
}

func TestBadConfiguration(t *testing.T) {
	_, err := resiliencegrpc.UnaryClientInterceptor(nil)
	assert.ErrorIs(t, err, resiliencegrpc.ErrNilPipeline)
	_, err = resiliencegrpc.StreamClientInterceptor(nil)
	assert.ErrorIs(t, err, resiliencegrpc.ErrNilPipeline)
	_, err = resiliencegrpc.UnaryServerInterceptor(nil)
	assert.ErrorIs(t, err, resiliencegrpc.ErrNilPipeline)
	_, err = resiliencegrpc.StreamServerInterceptor(nil)
	assert.ErrorIs(t, err, resiliencegrpc.ErrNilPipeline)
	_, err = resiliencegrpc.UnaryServerInterceptor(pipeline(t), resiliencegrpc.WithRetryAfter(-time.Second))
	assert.ErrorIs(t, err, resiliencegrpc.ErrInvalidOption)
	_, err = resiliencegrpc.UnaryClientInterceptor(pipeline(t), nil, resiliencegrpc.WithClassifier(nil), resiliencegrpc.WithMonitor(nil))
	assert.NoError(t, err)
}

func TestParsePushback(t *testing.T) {
	for _, tc := range []struct {
		vals []string
		want time.Duration
		ok   bool
	}{
		{nil, 0, false},
		{[]string{"0"}, 0, true},
		{[]string{"250"}, 250 * time.Millisecond, true},
		{[]string{"99999999999999999999999"}, 365 * 24 * time.Hour, true},
		{[]string{"-1"}, -1, true},
		{[]string{"1.5"}, -1, true},
		{[]string{""}, -1, true},
		{[]string{"soon"}, -1, true},
		{[]string{"1", "2"}, -1, true},
	} {
		md := metadata.MD{}
		if tc.vals != nil {
			md[resiliencegrpc.PushbackKey] = tc.vals
		}
		d, ok := resiliencegrpc.ParsePushback(md)
		assert.Equal(t, tc.ok, ok, "%q", tc.vals)
		assert.Equal(t, tc.want, d, "%q", tc.vals)
	}
}

func TestDefaultClassifier(t *testing.T) {
	pushback := metadata.Pairs(resiliencegrpc.PushbackKey, "10")
	for code, want := range map[codes.Code]resiliencegrpc.Verdict{
		codes.Unavailable:        {Retry: true, Failure: true},
		codes.ResourceExhausted:  {Failure: true},
		codes.DeadlineExceeded:   {Failure: true},
		codes.Internal:           {Failure: true},
		codes.Unknown:            {Failure: true},
		codes.InvalidArgument:    {},
		codes.NotFound:           {},
		codes.AlreadyExists:      {},
		codes.PermissionDenied:   {},
		codes.Unauthenticated:    {},
		codes.FailedPrecondition: {},
		codes.OutOfRange:         {},
		codes.Canceled:           {},
	} {
		assert.Equal(t, want, resiliencegrpc.DefaultClassifier(status.New(code, ""), nil), "%v", code)
	}
	assert.Equal(t, resiliencegrpc.Verdict{Retry: true, Failure: true},
		resiliencegrpc.DefaultClassifier(status.New(codes.ResourceExhausted, ""), pushback))
	assert.Equal(t, breaker.Success, resiliencegrpc.BreakerClassifier(&resiliencegrpc.StatusError{Status: status.New(codes.NotFound, "")}))
	assert.Equal(t, breaker.Ignore, resiliencegrpc.BreakerClassifier(&resiliencegrpc.StatusError{Status: status.New(codes.Canceled, "")}))
	assert.Equal(t, breaker.Failure, resiliencegrpc.BreakerClassifier(&resiliencegrpc.StatusError{Status: status.New(codes.Internal, ""), Verdict: resiliencegrpc.Verdict{Failure: true}}))
}
