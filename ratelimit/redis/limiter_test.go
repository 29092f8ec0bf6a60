package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metricnoop "go.opentelemetry.io/otel/metric/noop"

	"github.com/aragora/resilience/ratelimit"
	sharedlimit "github.com/aragora/resilience/ratelimit/redis"
)

func newMini(t *testing.T) (*miniredis.Miniredis, *goredis.Client) {
	t.Helper()
	m := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: m.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return m, c
}

func mustNew(t testing.TB, c goredis.Scripter, cfg sharedlimit.Config, opts ...sharedlimit.Option) *sharedlimit.Limiter {
	t.Helper()
	l, err := sharedlimit.New("partner", c, cfg, append([]sharedlimit.Option{sharedlimit.WithMeterProvider(metricnoop.NewMeterProvider())}, opts...)...)
	require.NoError(t, err)
	return l
}

func TestBadConfigFailsAtConstruction(t *testing.T) {
	_, c := newMini(t)
	ok := sharedlimit.Config{Rate: ratelimit.PerSecond(10), Burst: 1}
	with := func(f func(*sharedlimit.Config)) sharedlimit.Config { cfg := ok; f(&cfg); return cfg }
	for name, cfg := range map[string]sharedlimit.Config{
		"zero rate":          with(func(c *sharedlimit.Config) { c.Rate = ratelimit.Rate{} }),
		"zero burst":         with(func(c *sharedlimit.Config) { c.Burst = 0 }),
		"finer than 1µs":     with(func(c *sharedlimit.Config) { c.Rate = ratelimit.PerSecond(2_000_000) }),
		"negative timeout":   with(func(c *sharedlimit.Config) { c.Timeout = -time.Second }),
		"negative replicas":  with(func(c *sharedlimit.Config) { c.Replicas = -1 }),
		"unknown mode":       with(func(c *sharedlimit.Config) { c.Mode = 7 }),
		"bad breaker config": with(func(c *sharedlimit.Config) { c.Breaker.Cooldown = -time.Second }),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sharedlimit.New("partner", c, cfg)
			require.Error(t, err)
			if name != "bad breaker config" {
				assert.ErrorIs(t, err, sharedlimit.ErrInvalidConfig)
			}
		})
	}
	_, err := sharedlimit.New("", c, ok)
	assert.ErrorIs(t, err, sharedlimit.ErrInvalidConfig)
	_, err = sharedlimit.New("partner", nil, ok)
	assert.ErrorIs(t, err, sharedlimit.ErrInvalidConfig)
}

func TestTheScriptAdmitsTheBurstThenRefusesWithRetryAfter(t *testing.T) {
	_, c := newMini(t)
	l := mustNew(t, c, sharedlimit.Config{Rate: ratelimit.Rate{Permits: 1, Per: time.Minute}, Burst: 5})
	ctx := context.Background()
	for i := range 5 {
		r, err := l.Reserve(ctx, "k", 1, 0)
		require.NoError(t, err)
		assert.True(t, r.OK, "call %d", i)
		assert.Equal(t, 4-i, r.Remaining)
		assert.Equal(t, sharedlimit.BackendRedis, r.Backend)
	}
	r, err := l.Reserve(ctx, "k", 1, 0)
	require.NoError(t, err)
	assert.False(t, r.OK)
	assert.InDelta(t, time.Minute, r.RetryAfter, float64(time.Second), "retry after %v", r.RetryAfter)
	assert.Zero(t, r.Remaining)

	r, err = l.Reserve(ctx, "other", 3, 0)
	require.NoError(t, err)
	assert.True(t, r.OK, "keys share a limit")
	assert.Equal(t, 2, r.Remaining)

	_, err = l.Reserve(ctx, "k", 6, time.Hour)
	assert.ErrorIs(t, err, ratelimit.ErrCostAboveBurst)
}

func TestACallMayWaitForItsTurn(t *testing.T) {
	_, c := newMini(t)
	l := mustNew(t, c, sharedlimit.Config{Rate: ratelimit.PerSecond(10), Burst: 1})
	ctx := context.Background()
	r, err := l.Reserve(ctx, "k", 1, 0)
	require.NoError(t, err)
	require.True(t, r.OK)
	r, err = l.Reserve(ctx, "k", 1, time.Second)
	require.NoError(t, err)
	assert.True(t, r.OK)
	assert.InDelta(t, 100*time.Millisecond, r.Wait, float64(20*time.Millisecond), "wait %v", r.Wait)
	r, err = l.Reserve(ctx, "k", 1, 150*time.Millisecond)
	require.NoError(t, err)
	assert.False(t, r.OK, "the turn after the reserved one is 200ms away")
}

func TestKeysHaveAPrefixAndExpireWhenFull(t *testing.T) {
	m, c := newMini(t)
	l := mustNew(t, c, sharedlimit.Config{Rate: ratelimit.PerSecond(10), Burst: 20})
	_, err := l.Reserve(context.Background(), "tenant-a", 5, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"resilience:ratelimit:partner:tenant-a"}, m.Keys())
	// 5 permits taken at 10/s: full again in 500ms, and the key goes then.
	ttl := m.TTL("resilience:ratelimit:partner:tenant-a")
	assert.Greater(t, ttl, 400*time.Millisecond)
	assert.LessOrEqual(t, ttl, 502*time.Millisecond)

	l2 := mustNew(t, c, sharedlimit.Config{Rate: ratelimit.PerSecond(10), Burst: 20, Prefix: "app:"})
	_, err = l2.Reserve(context.Background(), "x", 1, 0)
	require.NoError(t, err)
	assert.Contains(t, m.Keys(), "app:x")
}

func TestModesWhileRedisIsDown(t *testing.T) {
	for _, tt := range []struct {
		mode    sharedlimit.Mode
		backend string
		admits  int // of 20 calls at once, with a burst of 10 over 2 replicas
	}{
		{sharedlimit.FailLocal, sharedlimit.BackendLocal, 5},
		{sharedlimit.FailOpen, sharedlimit.BackendFailOpen, 20},
		{sharedlimit.FailClosed, sharedlimit.BackendFailClosed, 0},
	} {
		t.Run(tt.backend, func(t *testing.T) {
			m, c := newMini(t)
			l := mustNew(t, c, sharedlimit.Config{Rate: ratelimit.Rate{Permits: 10, Per: time.Hour}, Burst: 10,
				Mode: tt.mode, Replicas: 2, Breaker: breakerConfig(time.Minute)})
			m.Close()
			admitted := 0
			for range 20 {
				r, err := l.Reserve(context.Background(), "k", 1, 0)
				require.NoError(t, err, "Redis down is the mode's to decide, not an error")
				assert.Equal(t, tt.backend, r.Backend)
				if r.OK {
					admitted++
				} else {
					assert.Positive(t, r.RetryAfter)
				}
			}
			assert.Equal(t, tt.admits, admitted)
			assert.Equal(t, tt.backend, l.Backend())
		})
	}
}

func TestACallerThatCancelsGetsItsError(t *testing.T) {
	_, c := newMini(t)
	l := mustNew(t, c, sharedlimit.Config{Rate: ratelimit.PerSecond(10), Burst: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := l.Reserve(ctx, "k", 1, 0)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, sharedlimit.BackendRedis, l.Backend(), "a cancelled caller switched the backend")
}
