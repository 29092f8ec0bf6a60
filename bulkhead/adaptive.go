package bulkhead

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/aragora/resilience/policy"
)

// baselineWarmup is how many windows the baseline averages plainly before
// it becomes an exponential moving average, so that the first window alone
// does not set it.
const baselineWarmup = 10

// limiter is the adaptive limit's estimator: the gradient rule documented on
// [Adaptive]. It runs once per sample, under its own mutex, and only for
// bulkheads that asked for it.
type limiter struct {
	cfg     Adaptive
	ceiling float64
	alpha   float64 // weight of a window in the baseline's moving average

	mu          sync.Mutex
	estimate    float64   // the limit, before rounding down
	windowStart time.Time // zero: no window open
	sum         time.Duration
	count       int
	maxInflight int64
	queued      bool    // a call waited during the window
	baseline    float64 // nanoseconds
	windows     int     // windows that went into the baseline
}

func newLimiter(a Adaptive, ceiling int) *limiter {
	return &limiter{
		cfg:      a,
		ceiling:  float64(ceiling),
		alpha:    2 / (float64(a.BaselineWindows) + 1),
		estimate: float64(a.InitialLimit),
	}
}

// sample feeds the adaptive limit with one call that held its permit for
// rtt, before the permit is released.
func (b *Bulkhead) sample(rtt time.Duration) {
	s := b.state.Load()
	l := b.adaptive
	l.mu.Lock()
	defer l.mu.Unlock()
	// The new limit is set under the limiter's lock, so that two windows'
	// estimates reach the bulkhead in the order they were made. (The lock
	// order is limiter, then bulkhead; nothing takes them the other way.)
	if n, changed := l.addLocked(time.Now(), rtt, inflightOf(s), queuedOf(s) > 0); changed {
		b.setLimit(n)
	}
}

// addLocked records one sample and, when it closes a window, re-estimates
// the limit. It reports the new limit, and whether it differs from the old
// one. l.mu is held.
func (l *limiter) addLocked(now time.Time, rtt time.Duration, inflight int64, queued bool) (int64, bool) {
	if l.windowStart.IsZero() {
		l.windowStart = now
	}
	l.sum += rtt
	l.count++
	l.maxInflight = max(l.maxInflight, inflight)
	l.queued = l.queued || queued
	if l.count < l.cfg.MinSamples || now.Sub(l.windowStart) < l.cfg.Window {
		return 0, false
	}

	short := max(float64(l.sum)/float64(l.count), 1)
	limited := l.queued || float64(l.maxInflight) >= l.estimate/2
	l.windowStart, l.sum, l.count, l.maxInflight, l.queued = now, 0, 0, 0, false

	if l.windows < min(baselineWarmup, l.cfg.BaselineWindows) {
		l.baseline = (l.baseline*float64(l.windows) + short) / float64(l.windows+1)
	} else {
		l.baseline += l.alpha * (short - l.baseline)
	}
	l.windows++
	if l.baseline/short > 2 {
		// Latency fell well below the baseline, as it does when a period of
		// overload ends: let the baseline follow without waiting for the
		// moving average.
		l.baseline *= 0.95
	}
	if !limited {
		return 0, false
	}

	old := int64(l.estimate)
	gradient := min(max(l.cfg.Tolerance*l.baseline/short, 0.5), 1)
	target := l.estimate*gradient + math.Sqrt(l.estimate)
	l.estimate = l.estimate*(1-l.cfg.Smoothing) + target*l.cfg.Smoothing
	l.estimate = min(max(l.estimate, float64(l.cfg.MinLimit)), l.ceiling)
	n := int64(l.estimate)
	return n, n != old
}

// countsAsSample reports whether a call that ended with err says how long the
// protected resource takes to serve: successes and failures do, timeouts
// included; refusals by an inner policy (no work was done), panics and calls
// the caller cancelled do not.
func countsAsSample(err error) bool {
	if err == nil {
		return true
	}
	switch policy.OutcomeOf(err) {
	case policy.Rejected, policy.Panic:
		return false
	}
	return !errors.Is(err, context.Canceled)
}
