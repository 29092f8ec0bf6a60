package retry

import (
	"math"
	"math/rand/v2"
	"time"
)

// Delay returns the time the policy waits before retry n (1 for the first
// retry, the execution's second attempt) when the error gives no delay of its
// own: the Strategy's delay, capped by MaxDelay, then randomized by the
// Jitter. prev is the delay before retry n−1 (zero before the first), which
// only DecorrelatedJitter reads. rnd is the source of the jitter; nil means
// the goroutine-safe source of math/rand/v2, which the policy itself uses.
//
// Delay is exported so that a schedule can be shown or tested: it is what the
// policy computes, for any n, without overflow. The result is never negative
// and never above MaxDelay, and without jitter it never decreases as n grows;
// n below 1 counts as 1.
func (r *Retry) Delay(n int, prev time.Duration, rnd *rand.Rand) time.Duration {
	return r.s.delay(n, prev, rnd)
}

func (s *settings) delay(n int, prev time.Duration, rnd *rand.Rand) time.Duration {
	switch s.jitter {
	case NoJitter:
		return s.backoff(n)
	case EqualJitter:
		d := s.backoff(n)
		half := d / 2
		return d - half + uniform(0, half, rnd)
	case DecorrelatedJitter:
		prev = min(max(prev, s.base), s.max)
		hi := time.Duration(math.MaxInt64)
		if prev <= hi/3 {
			hi = 3 * prev
		}
		return min(s.max, uniform(s.base, hi, rnd))
	default: // FullJitter
		return uniform(0, s.backoff(n), rnd)
	}
}

// backoff returns the strategy's delay before retry n, capped by s.max. It
// compares before multiplying, so that no n overflows: attempt 10,000 of an
// exponential backoff gives MaxDelay, not a wrapped-around product.
func (s *settings) backoff(n int) time.Duration {
	n = max(n, 1)
	switch s.strategy {
	case Constant:
		return s.base
	case Linear:
		if int64(n) > int64(s.max/s.base) {
			return s.max
		}
		return time.Duration(n) * s.base
	default: // Exponential
		shift := n - 1
		if shift >= 63 || s.base > s.max>>shift {
			return s.max
		}
		return s.base << shift
	}
}

// uniform returns a uniformly random duration in [lo, hi], lo ≤ hi.
func uniform(lo, hi time.Duration, rnd *rand.Rand) time.Duration {
	if hi <= lo {
		return lo
	}
	span := uint64(hi-lo) + 1 // hi−lo ≤ MaxInt64, so this cannot wrap
	if rnd != nil {
		return lo + time.Duration(rnd.Uint64N(span))
	}
	return lo + time.Duration(rand.Uint64N(span))
}
