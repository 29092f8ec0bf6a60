package retry_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aragora/resilience/retry"
)

func TestDelayFollowsEachStrategyExactlyWithoutJitter(t *testing.T) {
	base, maxDelay := 250*time.Millisecond, 5*time.Second
	tests := []struct {
		strategy retry.Strategy
		want     func(n int) time.Duration // before the cap
	}{
		{retry.Exponential, func(n int) time.Duration { return base * time.Duration(math.Pow(2, float64(n-1))) }},
		{retry.Linear, func(n int) time.Duration { return base * time.Duration(n) }},
		{retry.Constant, func(int) time.Duration { return base }},
	}
	for _, tt := range tests {
		t.Run(tt.strategy.String(), func(t *testing.T) {
			r := mustNew(t, retry.Config{BaseDelay: base, MaxDelay: maxDelay, Strategy: tt.strategy, Jitter: retry.NoJitter})
			for n := 1; n <= 30; n++ {
				if got, want := r.Delay(n, 0, nil), min(tt.want(n), maxDelay); got != want {
					t.Errorf("Delay(%d) = %v, want %v", n, got, want)
				}
			}
			if got := r.Delay(0, 0, nil); got != base {
				t.Errorf("Delay(0) = %v, want %v: n below 1 counts as 1", got, base)
			}
		})
	}
}

func TestDelayNeverOverflows(t *testing.T) {
	tests := []struct {
		base, max time.Duration
	}{
		{time.Second, 30 * time.Second},
		{time.Second, time.Duration(math.MaxInt64)},
		{time.Nanosecond, time.Duration(math.MaxInt64)},
		{time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)},
	}
	for _, tt := range tests {
		for _, s := range []retry.Strategy{retry.Exponential, retry.Linear, retry.Constant} {
			for _, j := range []retry.Jitter{retry.NoJitter, retry.FullJitter, retry.EqualJitter, retry.DecorrelatedJitter} {
				r := mustNew(t, retry.Config{BaseDelay: tt.base, MaxDelay: tt.max, Strategy: s, Jitter: j})
				for _, n := range []int{1, 2, 62, 63, 64, 65, 10_000, math.MaxInt32, math.MaxInt} {
					d := r.Delay(n, tt.max, nil)
					if d < 0 || d > tt.max {
						t.Errorf("%v/%v base %v max %v: Delay(%d) = %v, want within [0, MaxDelay]", s, j, tt.base, tt.max, n, d)
					}
					if j == retry.NoJitter && s == retry.Exponential && n >= 64 && d != tt.max {
						t.Errorf("exponential base %v: Delay(%d) = %v, want MaxDelay %v", tt.base, n, d, tt.max)
					}
				}
			}
		}
	}
	r := mustNew(t, retry.Config{BaseDelay: time.Second, MaxDelay: time.Minute, Jitter: retry.NoJitter})
	if d := r.Delay(10_000, 0, nil); d != time.Minute {
		t.Errorf("attempt 10,000 with base 1s: Delay = %v, want MaxDelay 1m", d)
	}
}

// TestJitterStaysWithinItsBoundsAndSpreads draws many delays from a seeded
// source, and checks every one against the documented bounds, and the draws
// together against the distribution: mean, and reach towards both bounds.
func TestJitterStaysWithinItsBoundsAndSpreads(t *testing.T) {
	const draws = 20_000
	base, maxDelay := 100*time.Millisecond, 10*time.Second
	tests := []struct {
		jitter retry.Jitter
		n      int
		prev   time.Duration
		lo, hi time.Duration // the documented bounds
		mean   time.Duration // of the uniform distribution on them
	}{
		{retry.FullJitter, 4, 0, 0, 800 * time.Millisecond, 400 * time.Millisecond},
		{retry.FullJitter, 30, 0, 0, maxDelay, maxDelay / 2},
		{retry.EqualJitter, 4, 0, 400 * time.Millisecond, 800 * time.Millisecond, 600 * time.Millisecond},
		{retry.EqualJitter, 30, 0, maxDelay / 2, maxDelay, 3 * maxDelay / 4},
		{retry.DecorrelatedJitter, 1, 0, base, 3 * base, 2 * base},
		{retry.DecorrelatedJitter, 5, time.Second, base, 3 * time.Second, 1550 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/n=%d", tt.jitter, tt.n), func(t *testing.T) {
			r := mustNew(t, retry.Config{BaseDelay: base, MaxDelay: maxDelay, Jitter: tt.jitter})
			rnd := rand.New(rand.NewPCG(1, uint64(tt.n)))
			var sum float64
			lowest, highest := time.Duration(math.MaxInt64), time.Duration(0)
			for range draws {
				d := r.Delay(tt.n, tt.prev, rnd)
				if d < tt.lo || d > tt.hi {
					t.Fatalf("Delay = %v, want within [%v, %v]", d, tt.lo, tt.hi)
				}
				sum += float64(d)
				lowest, highest = min(lowest, d), max(highest, d)
			}
			span := float64(tt.hi - tt.lo)
			// The standard error of the mean of a uniform distribution is
			// span/sqrt(12·draws), 0.2% of the span here; allow 1%.
			if mean := sum / draws; math.Abs(mean-float64(tt.mean)) > 0.01*span {
				t.Errorf("mean delay = %v, want %v", time.Duration(mean), tt.mean)
			}
			if float64(lowest-tt.lo) > 0.01*span || float64(tt.hi-highest) > 0.01*span {
				t.Errorf("delays reached [%v, %v], want them to spread over [%v, %v]", lowest, highest, tt.lo, tt.hi)
			}
		})
	}
}

func TestDecorrelatedJitterIsCappedByMaxDelay(t *testing.T) {
	r := mustNew(t, retry.Config{BaseDelay: time.Second, MaxDelay: 2 * time.Second, Jitter: retry.DecorrelatedJitter})
	rnd := rand.New(rand.NewPCG(7, 7))
	capped := 0
	for range 1000 {
		d := r.Delay(3, 2*time.Second, rnd) // drawn from [1s, 6s], then capped
		if d < time.Second || d > 2*time.Second {
			t.Fatalf("Delay = %v, want within [1s, 2s]", d)
		}
		if d == 2*time.Second {
			capped++
		}
	}
	// min(cap, uniform[1s, 6s]) is the cap 4 times in 5.
	if capped < 750 || capped > 850 {
		t.Errorf("%d of 1000 delays at the cap, want about 800", capped)
	}
}

func TestStrategyAndJitterNames(t *testing.T) {
	for v, want := range map[fmt.Stringer]string{
		retry.Exponential: "exponential", retry.Linear: "linear", retry.Constant: "constant", retry.Strategy(7): "Strategy(7)",
		retry.FullJitter: "full", retry.NoJitter: "none", retry.EqualJitter: "equal", retry.DecorrelatedJitter: "decorrelated", retry.Jitter(7): "Jitter(7)",
	} {
		if got := v.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}
