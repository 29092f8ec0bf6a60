package ratelimit

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// Limiter decides whether a call may go now, later, or not at all. It is the
// interface [RateLimiter] runs, and the one a limiter whose state lives
// elsewhere (a shared store) implements to plug into a pipeline. Its
// implementations are safe for concurrent use.
type Limiter interface {
	// Reserve asks for cost permits of key's limit (limiters that keep one
	// limit ignore key). When they are free now, or will be within
	// maxWait, it takes them and returns OK with the Wait before they may
	// be used; otherwise it takes nothing and returns RetryAfter. A cost
	// above what the limit can ever hold fails with [ErrCostAboveBurst]. The
	// error is for a limiter that could not decide (its store is down); a
	// refusal is not an error.
	Reserve(ctx context.Context, key string, cost int, maxWait time.Duration) (Reservation, error)
}

// Reservation is a [Limiter]'s answer.
type Reservation struct {
	OK         bool          // the permits are taken
	Wait       time.Duration // when OK: how long to wait before using them
	RetryAfter time.Duration // when not OK: when the permits will be free, if nobody takes them first
	Remaining  int           // the permits left free once the decision is made
	// Backend names who decided, for a limiter with more than one, such as
	// a shared limiter that falls back to a local one while its store is
	// down; "" for the limiters of this package. [RateLimiter] reports a
	// ratelimit.backend_change event each time it changes.
	Backend string
}

// Rate is a number of permits per period: Rate{Permits: 100, Per: time.Minute}.
type Rate struct {
	Permits int
	Per     time.Duration
}

// PerSecond returns n permits per second.
func PerSecond(n int) Rate { return Rate{Permits: n, Per: time.Second} }

// interval returns the time between two permits, truncated to the
// nanosecond, or an error for a rate no limiter can keep.
func (r Rate) interval() (int64, error) {
	if r.Permits <= 0 || r.Per <= 0 {
		return 0, invalid("rate %d per %v: both must be positive", r.Permits, r.Per)
	}
	iv := int64(r.Per) / int64(r.Permits)
	if iv < 1 {
		return 0, invalid("rate %d per %v is above one permit per nanosecond", r.Permits, r.Per)
	}
	return iv, nil
}

// gcra is the generic cell rate algorithm, the decision every limiter of this
// package takes: a limit is one word, its theoretical arrival time (TAT),
// the time at which the limit will be back to full if nothing else is taken.
// A call for n permits moves it n intervals on from max(TAT, now), and may go
// when the TAT then lies no more than capacity ahead of now (capacity is the
// burst times the interval). A token bucket of rate r and burst b admits
// exactly the calls a GCRA of interval 1/r and capacity b/r admits, and the
// GCRA keeps it in one integer, which a compare-and-swap updates.
type gcra struct {
	interval int64 // nanoseconds per permit
	capacity int64 // nanoseconds of permits the limit holds when full
	maxCost  int   // capacity / interval: the most permits one call may take
}

func newGCRA(rate Rate, capacity func(interval int64) (int64, error)) (gcra, error) {
	iv, err := rate.interval()
	if err != nil {
		return gcra{}, err
	}
	c, err := capacity(iv)
	if err != nil {
		return gcra{}, err
	}
	return gcra{interval: iv, capacity: c, maxCost: int(min(c/iv, math.MaxInt32))}, nil
}

// allow takes n permits of the limit whose TAT is tat, if they are free at
// now. Refusing writes nothing.
func (g *gcra) allow(tat *atomic.Int64, now int64, n int) bool {
	if n > g.maxCost || n <= 0 {
		return false
	}
	need := int64(n) * g.interval
	for {
		t := tat.Load()
		base := max(t, now)
		// Compared without computing base+need, which a capacity of
		// centuries would overflow.
		if base-now > g.capacity-need || base > math.MaxInt64-need {
			return false
		}
		if tat.CompareAndSwap(t, base+need) {
			return true
		}
	}
}

// reserve takes n permits that are free at now or within maxWait.
func (g *gcra) reserve(tat *atomic.Int64, now int64, n int, maxWait time.Duration) (Reservation, error) {
	if n > g.maxCost {
		return Reservation{}, ErrCostAboveBurst
	}
	n = max(n, 1)
	need := int64(n) * g.interval
	for {
		t := tat.Load()
		base := max(t, now)
		// > 0: the wait for the permits; computed so as not to overflow
		// with a capacity of centuries, nor base+need below.
		over := base - now - (g.capacity - need)
		if over > int64(max(maxWait, 0)) || base > math.MaxInt64-need {
			return Reservation{RetryAfter: time.Duration(over), Remaining: g.remaining(t, now)}, nil
		}
		next := base + need
		if tat.CompareAndSwap(t, next) {
			return Reservation{OK: true, Wait: time.Duration(max(over, 0)), Remaining: g.remaining(next, now)}, nil
		}
	}
}

// remaining returns the permits free at now when the TAT is t.
func (g *gcra) remaining(t, now int64) int {
	return int(max(g.capacity-max(t-now, 0), 0) / g.interval)
}

// Bucket is a limit of one rate, kept in one atomic word: [NewTokenBucket]
// and [NewSmooth] build one. Its Allow and AllowN neither lock nor allocate,
// and refusing writes nothing, so that a limit under a flood of refusals
// costs each caller one atomic load and a clock read. A Bucket is safe for
// concurrent use.
type Bucket struct {
	tat   atomic.Int64 // nanoseconds since epoch
	g     gcra
	epoch time.Time
}

var _ Limiter = (*Bucket)(nil)

// NewTokenBucket returns a token bucket that holds burst permits and gains
// them back at rate: up to burst calls may go at once, and then one per
// interval of rate. It starts full. It fails, with an error matching
// [ErrInvalidConfig], when rate or burst is not positive.
func NewTokenBucket(rate Rate, burst int) (*Bucket, error) {
	g, err := newGCRA(rate, func(iv int64) (int64, error) {
		if burst <= 0 {
			return 0, invalid("burst %d: must be positive", burst)
		}
		if int64(burst) > math.MaxInt64/iv {
			return 0, invalid("burst %d at %d per %v overflows", burst, rate.Permits, rate.Per)
		}
		return int64(burst) * iv, nil
	})
	if err != nil {
		return nil, err
	}
	return &Bucket{g: g, epoch: time.Now()}, nil
}

// NewSmooth returns a limiter that spreads calls evenly, one per interval of
// rate: a call may go at most tolerance earlier than its turn, so two calls
// are never closer than the interval less the tolerance, and bursts are
// ironed out. A tolerance of 0 is the strictest; one of k intervals lets
// k+1 calls go at once, as a token bucket of burst k+1 would. It fails, with an
// error matching [ErrInvalidConfig], when rate is not positive or tolerance
// is negative.
//
// With a wait ([WithMaxWait]), the calls that come together are given turns
// one interval apart, which is what makes the limiter smooth.
func NewSmooth(rate Rate, tolerance time.Duration) (*Bucket, error) {
	g, err := newGCRA(rate, func(iv int64) (int64, error) {
		if tolerance < 0 {
			return 0, invalid("tolerance %v: must not be negative", tolerance)
		}
		if int64(tolerance) > math.MaxInt64-iv {
			return 0, invalid("tolerance %v overflows", tolerance)
		}
		return iv + int64(tolerance), nil
	})
	if err != nil {
		return nil, err
	}
	return &Bucket{g: g, epoch: time.Now()}, nil
}

func (b *Bucket) now() int64 { return int64(time.Since(b.epoch)) }

// Allow takes one permit if one is free now, and reports whether it did.
func (b *Bucket) Allow() bool { return b.g.allow(&b.tat, b.now(), 1) }

// AllowN takes n permits if they are all free now, and reports whether it
// did. It reports false for an n that is not positive or above the burst.
func (b *Bucket) AllowN(n int) bool { return b.g.allow(&b.tat, b.now(), n) }

// Reserve implements [Limiter]; key is ignored.
func (b *Bucket) Reserve(_ context.Context, _ string, cost int, maxWait time.Duration) (Reservation, error) {
	return b.g.reserve(&b.tat, b.now(), cost, maxWait)
}

// Remaining returns the permits free now.
func (b *Bucket) Remaining() int { return b.g.remaining(b.tat.Load(), b.now()) }

// Burst returns the most permits that may be taken at once.
func (b *Bucket) Burst() int { return b.g.maxCost }
