package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/resilience/ratelimit"
	sharedlimit "github.com/aragora/resilience/ratelimit/redis"
)

// A call admitted to wait for its turn leaves no permit free: Remaining is
// never negative, as it is not for the local limiters.
func TestAnAdmittedWaitLeavesZeroRemainingNotLess(t *testing.T) {
	s := startServer(t)
	cfg := sharedlimit.Config{Rate: ratelimit.Rate{Permits: 1, Per: time.Minute}, Burst: 2, Timeout: time.Second}
	l := mustNew(t, s.client(t), cfg)
	local, err := ratelimit.NewTokenBucket(cfg.Rate, cfg.Burst)
	require.NoError(t, err)
	ctx := context.Background()
	for i := range 4 {
		r, err := l.Reserve(ctx, "k", 1, time.Hour)
		require.NoError(t, err)
		want, err := local.Reserve(ctx, "k", 1, time.Hour)
		require.NoError(t, err)
		require.True(t, r.OK, "call %d", i)
		assert.Equal(t, want.Remaining, r.Remaining, "call %d: remaining", i)
		assert.GreaterOrEqual(t, r.Remaining, 0, "call %d", i)
		assert.InDelta(t, want.Wait, r.Wait, float64(time.Second), "call %d: wait", i)
	}
}
