package ratelimit_test

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/resilience/ratelimit"
)

func TestBadConfigFailsAtConstruction(t *testing.T) {
	cases := map[string]func() error{
		"zero rate": func() error { _, err := ratelimit.NewTokenBucket(ratelimit.PerSecond(0), 1); return err },
		"negative period": func() error {
			_, err := ratelimit.NewTokenBucket(ratelimit.Rate{Permits: 1, Per: -time.Second}, 1)
			return err
		},
		"above 1/ns": func() error { _, err := ratelimit.NewTokenBucket(ratelimit.Rate{Permits: 2, Per: 1}, 1); return err },
		"zero burst": func() error { _, err := ratelimit.NewTokenBucket(ratelimit.PerSecond(10), 0); return err },
		"overflowing burst": func() error {
			_, err := ratelimit.NewTokenBucket(ratelimit.Rate{Permits: 1, Per: time.Hour}, 1<<40)
			return err
		},
		"negative tolerance": func() error { _, err := ratelimit.NewSmooth(ratelimit.PerSecond(10), -time.Millisecond); return err },
		"smooth zero rate":   func() error { _, err := ratelimit.NewSmooth(ratelimit.Rate{}, 0); return err },
		"negative max keys":  func() error { _, err := ratelimit.NewKeyed(ratelimit.PerSecond(10), 1, -1); return err },
		"keyed zero burst":   func() error { _, err := ratelimit.NewKeyed(ratelimit.PerSecond(10), 0, 10); return err },
		"empty name":         func() error { _, err := ratelimit.New("", mustBucket(t, 10, 1)); return err },
		"nil limiter":        func() error { _, err := ratelimit.New("x", nil); return err },
		"nil bucket":         func() error { _, err := ratelimit.New("x", (*ratelimit.Bucket)(nil)); return err },
		"negative max wait": func() error {
			_, err := ratelimit.New("x", mustBucket(t, 10, 1), ratelimit.WithMaxWait(-1))
			return err
		},
	}
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			err := fn()
			require.ErrorIs(t, err, ratelimit.ErrInvalidConfig)
			assert.Regexp(t, `^ratelimit: invalid config: `, err.Error())
		})
	}
}

func mustBucket(t testing.TB, perSecond, burst int) *ratelimit.Bucket {
	t.Helper()
	b, err := ratelimit.NewTokenBucket(ratelimit.PerSecond(perSecond), burst)
	require.NoError(t, err)
	return b
}

// admittedOver calls allow every step for d, and returns the times of the
// calls it admitted, measured from the start.
func admittedOver(d, step time.Duration, allow func() bool) []time.Duration {
	var at []time.Duration
	start := time.Now()
	for time.Since(start) < d {
		if allow() {
			at = append(at, time.Since(start))
		}
		time.Sleep(step)
	}
	return at
}

func TestTheTokenBucketAdmitsItsBurstThenItsRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBucket(t, 100, 20)
		burst := 0
		for range 25 {
			if b.Allow() {
				burst++
			}
		}
		assert.Equal(t, 20, burst, "calls admitted at once")
		// Then one per 10ms: at 10ms, 20ms, ... 9.99s.
		at := admittedOver(10*time.Second, time.Millisecond, b.Allow)
		require.Len(t, at, 999)
		assert.Equal(t, 10*time.Millisecond, at[0])
		for i := 1; i < len(at); i++ {
			assert.Equal(t, 10*time.Millisecond, at[i]-at[i-1], "gap before call %d", i)
		}
	})
}

func TestTheBucketRefillsUpToItsBurstOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBucket(t, 10, 5)
		assert.Equal(t, 5, b.Remaining())
		assert.True(t, b.AllowN(5))
		assert.Equal(t, 0, b.Remaining())
		assert.False(t, b.Allow())
		time.Sleep(time.Hour)
		assert.Equal(t, 5, b.Remaining(), "an idle bucket holds more than its burst")
		assert.False(t, b.AllowN(6), "AllowN above the burst")
		assert.False(t, b.AllowN(0))
		assert.False(t, b.AllowN(-1))
		assert.Equal(t, 5, b.Remaining(), "a refused AllowN took permits")
		assert.Equal(t, 5, b.Burst())
	})
}

func TestTheSmoothLimiterSpreadsCallsEvenly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := ratelimit.NewSmooth(ratelimit.PerSecond(100), 0)
		require.NoError(t, err)
		at := admittedOver(time.Second, time.Millisecond, s.Allow)
		require.Len(t, at, 100)
		for i := 1; i < len(at); i++ {
			assert.Equal(t, 10*time.Millisecond, at[i]-at[i-1], "gap before call %d", i)
		}
		assert.Equal(t, 1, s.Burst())
	})
}

func TestTheSmoothLimitersToleranceLetsCallsComeEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := ratelimit.NewSmooth(ratelimit.PerSecond(100), 4*time.Millisecond)
		require.NoError(t, err)
		assert.True(t, s.Allow())
		time.Sleep(5 * time.Millisecond)
		assert.False(t, s.Allow(), "5ms early with a tolerance of 4ms")
		time.Sleep(time.Millisecond)
		assert.True(t, s.Allow(), "4ms early with a tolerance of 4ms")
		// The early call moved the schedule on: the next turn is at 20ms.
		time.Sleep(9 * time.Millisecond)
		assert.False(t, s.Allow(), "at 15ms, 5ms before the turn at 20ms")
		time.Sleep(time.Millisecond)
		assert.True(t, s.Allow())
	})
}

func TestConcurrentCallersNeverGetMoreThanTheBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The clock stands still in the bubble while goroutines run: every
		// call races for the same 100 permits.
		b := mustBucket(t, 1, 100)
		k, err := ratelimit.NewKeyed(ratelimit.PerSecond(1), 100, 10)
		require.NoError(t, err)
		var bucket, keyed atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for range 50 {
					if b.Allow() {
						bucket.Add(1)
					}
					if k.Allow("tenant") {
						keyed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int64(100), bucket.Load())
		assert.Equal(t, int64(100), keyed.Load())
	})
}

func TestReserveReportsRemainingAndRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBucket(t, 10, 3) // one permit per 100ms
		ctx := context.Background()
		r, err := b.Reserve(ctx, "", 2, 0)
		require.NoError(t, err)
		assert.Equal(t, ratelimit.Reservation{OK: true, Remaining: 1}, r)

		r, err = b.Reserve(ctx, "", 3, 0)
		require.NoError(t, err)
		assert.Equal(t, ratelimit.Reservation{RetryAfter: 200 * time.Millisecond, Remaining: 1}, r,
			"3 permits with 1 free: 2 more come in 200ms")

		r, err = b.Reserve(ctx, "", 3, 250*time.Millisecond)
		require.NoError(t, err)
		assert.Equal(t, ratelimit.Reservation{OK: true, Wait: 200 * time.Millisecond}, r)

		_, err = b.Reserve(ctx, "", 4, time.Hour)
		assert.ErrorIs(t, err, ratelimit.ErrCostAboveBurst)
	})
}

func TestTheKeyedLimiterKeepsOneLimitPerKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := ratelimit.NewKeyed(ratelimit.PerSecond(1), 2, 0)
		require.NoError(t, err)
		assert.True(t, k.Allow("a"))
		assert.True(t, k.Allow("a"))
		assert.False(t, k.Allow("a"))
		assert.True(t, k.Allow("b"), "b paid for a")
		time.Sleep(time.Second)
		assert.True(t, k.Allow("a"))
		assert.False(t, k.Allow("a"))
	})
}

func TestTheKeyedLimiterForgetsTheLeastRecentlyUsedKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := ratelimit.NewKeyed(ratelimit.Rate{Permits: 1, Per: time.Hour}, 1, 3)
		require.NoError(t, err)
		for _, key := range []string{"a", "b", "c"} {
			require.True(t, k.Allow(key))
		}
		assert.False(t, k.Allow("a"), "a is spent") // a is now the most recent
		assert.True(t, k.Allow("d"))                // forgets b, the least recent
		assert.Equal(t, 3, k.Len())
		assert.False(t, k.Allow("a"), "a was forgotten though it was used last but one")
		assert.False(t, k.Allow("c"), "c was forgotten before b") // c is now most recent; LRU is d
		assert.True(t, k.Allow("b"), "b is remembered, though it was the least recent")
		assert.Equal(t, 3, k.Len())

		for i := range 10_000 {
			k.Allow(string(rune('A' + i%50)))
		}
		assert.Equal(t, 3, k.Len(), "memory grows past max keys")
	})
}

func TestTheKeyedLimiterDefaultsToItsDocumentedMaximum(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := ratelimit.NewKeyed(ratelimit.PerSecond(1), 1, 0)
		require.NoError(t, err)
		for i := range ratelimit.DefaultMaxKeys + 500 {
			k.Allow(string(rune(i)) + "key")
		}
		assert.Equal(t, ratelimit.DefaultMaxKeys, k.Len())
	})
}

func TestWaitingCallersAreGivenTurnsOneIntervalApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := ratelimit.NewSmooth(ratelimit.PerSecond(50), 0) // 20ms
		require.NoError(t, err)
		r, err := ratelimit.New("smooth", s, ratelimit.WithMaxWait(time.Second))
		require.NoError(t, err)
		start := time.Now()
		var mu sync.Mutex
		var at []time.Duration
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				assert.NoError(t, r.Execute(context.Background(), func(context.Context) error {
					mu.Lock()
					at = append(at, time.Since(start))
					mu.Unlock()
					return nil
				}))
			})
		}
		wg.Wait()
		slices.Sort(at)
		for i, d := range at {
			assert.Equal(t, time.Duration(i)*20*time.Millisecond, d, "turn %d", i)
		}
	})
}

// A limit whose permits lie centuries ahead: the arithmetic of its
// theoretical arrival time must not wrap around and hand out a full bucket.
func TestAHugeCapacityDoesNotOverflowIntoAFullBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		century := ratelimit.Rate{Permits: 1, Per: 100 * 365 * 24 * time.Hour}
		b, err := ratelimit.NewTokenBucket(century, 2)
		require.NoError(t, err)
		assert.True(t, b.Allow())
		assert.True(t, b.Allow())
		for range 3 {
			assert.False(t, b.Allow(), "the burst is spent for a century")
		}
		assert.Zero(t, b.Remaining())

		b, err = ratelimit.NewTokenBucket(century, 2)
		require.NoError(t, err)
		for range 2 {
			r, err := b.Reserve(context.Background(), "", 1, 0)
			require.NoError(t, err)
			require.True(t, r.OK)
		}
		r, err := b.Reserve(context.Background(), "", 1, 0)
		require.NoError(t, err)
		assert.False(t, r.OK, "the burst is spent for a century")
		assert.Equal(t, 100*365*24*time.Hour, r.RetryAfter)
		r, err = b.Reserve(context.Background(), "", 1, time.Duration(math.MaxInt64))
		require.NoError(t, err)
		assert.False(t, r.OK, "a wait past the end of time is not a permit")
	})
}
