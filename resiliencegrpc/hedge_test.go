package resiliencegrpc_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/hedge"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/resiliencegrpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// slowFirst keeps the first call until the client gives it up, and answers
// the others at once.
func slowFirst(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error) {
	if n == 1 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return serving, nil
}

// A hedge runs the interceptor's attempts at once: they must share nothing
// unguarded, and the hedged one says which attempt it follows, as gRPC's own
// hedging does.
func TestHedgedAttemptsShareNothing(t *testing.T) {
	h := &health{check: slowFirst}
	hg, err := hedge.New(hedge.WithDelay(10 * time.Millisecond))
	require.NoError(t, err)
	c := dial(t, listen(t, h), resilient(t, pipeline(t, hg))...)

	resp, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.Status)
	require.Eventually(t, func() bool { return h.Calls() == 2 }, 5*time.Second, time.Millisecond)
	prev := h.Previous()
	slices.Sort(prev)
	assert.Equal(t, []string{"", "1"}, prev)
}

// The attempt a hedge cancels because another won did not time out: a
// breaker in the hedge must not count it as a failure.
func TestAHedgeLoserIsNoBreakerFailure(t *testing.T) {
	h := &health{check: slowFirst}
	hg, err := hedge.New(hedge.WithDelay(10 * time.Millisecond))
	require.NoError(t, err)
	br, err := breaker.New("health", breaker.Config{FailureThreshold: 1, Classifier: resiliencegrpc.BreakerClassifier})
	require.NoError(t, err)
	c := dial(t, listen(t, h), resilient(t, pipeline(t, hg, br))...)

	_, err = c.Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	assert.Equal(t, breaker.Closed, br.State(), "the hedge's loser tripped the breaker")
	assert.Zero(t, br.Status().Failures)
}

// A hedge in a server interceptor's pipeline starts a second attempt while
// the handler runs: it must find the handler running, without a race, and
// leave the one answer to it.
func TestAHedgeInTheServersPipelineRunsTheHandlerOnce(t *testing.T) {
	hg, err := hedge.New(hedge.WithDelay(time.Millisecond))
	require.NoError(t, err)
	second := &nthAttempt{n: 2, reached: make(chan struct{})}
	h := &health{check: func(ctx context.Context, _ int) (*healthpb.HealthCheckResponse, error) {
		select { // the hedge's attempt comes while the handler runs
		case <-second.reached:
		case <-ctx.Done():
		}
		return serving, nil
	}}
	c := dial(t, listen(t, h, shedding(t, pipeline(t, hg, second))...))

	resp, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.Status)
	assert.Equal(t, 1, h.Calls())
}

// nthAttempt is a policy that closes reached when its nth attempt starts.
type nthAttempt struct {
	n       int32
	seen    atomic.Int32
	reached chan struct{}
}

func (p *nthAttempt) Run(ctx context.Context, ex policy.Execution) error {
	if p.seen.Add(1) == p.n {
		close(p.reached)
	}
	return ex.Next(ctx)
}

// A hedge around a stream's start: the attempts share the caller's message
// and the stream the caller gets, so they run one at a time. The hedged one
// waits, and is not needed when the first receives its message; nothing of
// either attempt's stream is left open.
func TestAHedgedStreamStartsOneStream(t *testing.T) {
	hg, err := hedge.New(hedge.WithDelay(time.Millisecond))
	require.NoError(t, err)
	second := &nthAttempt{n: 2, reached: make(chan struct{})}
	h := &health{watch: func(s grpc.ServerStreamingServer[healthpb.HealthCheckResponse], n int) error {
		if n == 1 {
			select { // the hedge's attempt has started
			case <-second.reached:
			case <-s.Context().Done():
				return s.Context().Err()
			}
		}
		s.Send(serving)
		s.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING})
		return nil
	}}
	c := dial(t, listen(t, h), resilient(t, pipeline(t, hg, second))...)
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
	assert.Equal(t, 1, h.Calls(), "one stream opened")
}
