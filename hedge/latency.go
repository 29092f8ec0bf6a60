package hedge

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// latency estimates a percentile of the attempt latencies a hedge observes,
// in fixed memory: a histogram of log-linear buckets (four per power of two,
// so a bucket is at most 25% wide) from 1µs to about 18 minutes, whose counts
// are halved each time they reach window samples, so that old latencies fade
// and the estimate follows the dependency.
type latency struct {
	mu       sync.Mutex
	counts   [numBuckets]uint32
	total    uint32
	sinceEst uint32
	q        float64
	window   uint32
	est      atomic.Int64 // the last estimate, in ns; 0 until minSamples
}

const (
	subBuckets  = 4  // per power of two
	minExponent = 10 // 2^10 ns ≈ 1µs: the first bucket holds all below
	maxExponent = 40 // 2^40 ns ≈ 18m: the last bucket holds all above
	numBuckets  = (maxExponent-minExponent)*subBuckets + 2
	minSamples  = 20   // samples before the estimate is used
	reestimate  = 8    // samples between estimates
	window      = 1000 // samples at which counts are halved
)

func newLatency(q float64) *latency { return &latency{q: q, window: window} }

// bucket returns the bucket of d.
func bucket(d time.Duration) int {
	n := uint64(max(d, 0))
	if n < 1<<minExponent {
		return 0
	}
	e := bits.Len64(n) - 1
	if e >= maxExponent {
		return numBuckets - 1
	}
	sub := int(n>>(e-2)) & (subBuckets - 1)
	return (e-minExponent)*subBuckets + sub + 1
}

// upper returns the upper edge of bucket i: an estimate never below the
// latencies it stands for.
func upper(i int) time.Duration {
	if i == 0 {
		return 1 << minExponent
	}
	if i >= numBuckets-1 {
		return 1 << maxExponent
	}
	e := (i-1)/subBuckets + minExponent
	sub := (i - 1) % subBuckets
	return time.Duration(subBuckets+sub+1) << (e - 2)
}

// observe adds one latency.
func (l *latency) observe(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts[bucket(d)]++
	l.total++
	if l.total >= l.window {
		l.total = 0
		for i := range l.counts {
			l.counts[i] /= 2
			l.total += l.counts[i]
		}
	}
	l.sinceEst++
	if l.total >= minSamples && (l.sinceEst >= reestimate || l.est.Load() == 0) {
		l.sinceEst = 0
		l.est.Store(int64(l.percentile()))
	}
}

// percentile returns the q-quantile of the counts; l.mu is held.
func (l *latency) percentile() time.Duration {
	rank := uint32(float64(l.total)*l.q + 0.5)
	rank = max(rank, 1)
	var seen uint32
	for i, c := range l.counts {
		seen += c
		if seen >= rank {
			return upper(i)
		}
	}
	return upper(numBuckets - 1)
}

// estimate returns the last estimate, and false before minSamples.
func (l *latency) estimate() (time.Duration, bool) {
	d := l.est.Load()
	return time.Duration(d), d > 0
}
