package resiliencegrpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/aragora/resilience/resiliencegrpc"
	"github.com/aragora/resilience/slo"
	"github.com/aragora/resilience/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// A handler that ignores its context and answers after the time limit ran
// out is answered DEADLINE_EXCEEDED, as the limit says, not with its late
// answer; the monitor counts the RPC bad.
func TestALateAnswerAfterTheServerTimeoutIsDeadlineExceeded(t *testing.T) {
	to, err := timeout.New(20 * time.Millisecond)
	require.NoError(t, err)
	m, err := slo.New("health", slo.Objective{Availability: 0.99})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	h := &health{check: func(ctx context.Context, _ int) (*healthpb.HealthCheckResponse, error) {
		<-ctx.Done()
		return serving, nil // late, as if nothing happened
	}}
	c := dial(t, listen(t, h, shedding(t, pipeline(t, to), resiliencegrpc.WithMonitor(m))...))
	resp, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{})
	assert.Nil(t, resp)
	assert.Equal(t, codes.DeadlineExceeded, status.Code(err))
	win := m.Snapshot().Availability.Windows[0]
	assert.Equal(t, 1.0, win.Calls)
	assert.Equal(t, 1.0, win.Bad)
}
