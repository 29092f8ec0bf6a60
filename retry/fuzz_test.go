package retry_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aragora/resilience/retry"
)

// FuzzDelay checks the delay computation for any configuration and any
// retry number: never negative, never above MaxDelay, never below what the
// jitter promises, and without jitter never decreasing from one retry to the
// next. The seed corpus is in testdata/fuzz/FuzzDelay; go test runs it, and
// go test -fuzz=FuzzDelay explores from it.
func FuzzDelay(f *testing.F) {
	f.Fuzz(func(t *testing.T, base, maxDelay int64, strategy, jitter uint8, n int, prev int64, seed uint64) {
		cfg := retry.Config{
			BaseDelay: time.Duration(base),
			MaxDelay:  time.Duration(maxDelay),
			Strategy:  retry.Strategy(strategy % 3),
			Jitter:    retry.Jitter(jitter % 4),
		}
		r, err := retry.New(cfg)
		if err != nil {
			return // an invalid config is New's to refuse, tested elsewhere
		}
		// The bounds in force, after New's defaults.
		b := cfg.BaseDelay
		if b == 0 {
			b = retry.DefaultBaseDelay
		}
		hi := cfg.MaxDelay
		if hi == 0 {
			hi = max(retry.DefaultMaxDelay, b)
		}
		var lo time.Duration
		switch cfg.Jitter {
		case retry.NoJitter, retry.DecorrelatedJitter:
			lo = b
		case retry.EqualJitter:
			lo = b - b/2
		}

		d := r.Delay(n, time.Duration(prev), rand.New(rand.NewPCG(seed, ^seed)))
		if d < lo || d > hi {
			t.Fatalf("%+v: Delay(%d, %v) = %v, want within [%v, %v]", cfg, n, time.Duration(prev), d, lo, hi)
		}
		if cfg.Jitter == retry.NoJitter && n < math.MaxInt {
			if next := r.Delay(n+1, 0, nil); next < d {
				t.Fatalf("%+v: Delay(%d) = %v, Delay(%d) = %v; want no decrease without jitter", cfg, n, d, n+1, next)
			}
		}
	})
}
