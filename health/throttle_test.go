package health_test

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/resilience/health"
	"github.com/aragora/resilience/throttle"
)

func TestAThrottleCheckDegradesWhileTheThrottleRefusesTooMuch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		thr, err := throttle.New("search", throttle.Config{Window: 10 * time.Second})
		require.NoError(t, err)
		c := newChecker(t, health.Config{})
		// Even registered critical, a throttle only degrades.
		require.NoError(t, c.RegisterThrottle("search", thr.RejectionProbability, 0.5, health.WithCritical(true)))
		assert.Equal(t, health.Healthy, c.CheckAll(context.Background()).Status)

		for range 100 {
			_ = thr.Execute(context.Background(), func(context.Context) error { return errBoom })
		}
		require.Greater(t, thr.RejectionProbability(), 0.5)
		assert.Equal(t, health.Degraded, c.CheckAll(context.Background()).Status, "at once: the threshold is 1")
		lastErr := c.Report().Checks["search"].LastError
		assert.ErrorIs(t, lastErr, health.ErrThrottleRejecting)
		assert.ErrorIs(t, lastErr, health.ErrDegraded)

		time.Sleep(10 * time.Second) // the refusals leave the window
		assert.Equal(t, health.Healthy, c.CheckAll(context.Background()).Status)
	})
}

func TestAThrottleCheckRefusesBadArguments(t *testing.T) {
	c := newChecker(t, health.Config{})
	p := func() float64 { return 0 }
	for name, err := range map[string]error{
		"nil":      c.RegisterThrottle("a", nil, 0.5),
		"negative": c.RegisterThrottle("b", p, -0.1),
		"one":      c.RegisterThrottle("c", p, 1),
		"NaN":      c.RegisterThrottle("d", p, math.NaN()),
	} {
		assert.Error(t, err, name)
	}
	assert.Empty(t, c.Report().Checks)
	assert.NoError(t, c.RegisterThrottle("e", p, 0))
}
