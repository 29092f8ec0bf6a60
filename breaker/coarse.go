package breaker

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// CoarseClock is a clock read by an atomic load: a goroutine of its own reads
// the time once per resolution and publishes it. Breakers given one with
// [WithCoarseClock] read it, instead of the system clock, to place the calls
// of a time-based [Window] in its steps.
//
// The trade, measured by BenchmarkTimeWindow and BenchmarkTimeWindowCoarse:
// a time-based window reads the clock once per call, which costs several
// atomic adds on its own (more on a virtual machine whose clock source has
// no fast path); the coarse clock turns that read into a load, at the price
// of one goroutine that wakes once per resolution, and of readings that lag
// the true time by up to the resolution, so that a call may be counted in
// the step before the one it ended in. Cooldowns, the slow-call rule and
// [Breaker.Status] still read the system clock.
//
// Many breakers may share one CoarseClock. Stop it when they are done with
// it: its breakers then go back to the system clock.
type CoarseClock struct {
	start      time.Time
	resolution time.Duration
	ns         atomic.Int64 // time since start, as of the last tick; -1 once stopped
	stop       chan struct{}
	done       chan struct{}
	once       sync.Once
}

// ErrInvalidResolution is matched, through errors.Is, by the error of
// [NewCoarseClock] for a resolution that is not positive.
var ErrInvalidResolution = errors.New("breaker: invalid coarse clock resolution")

// NewCoarseClock starts a coarse clock that ticks every resolution, which
// must be positive; a millisecond suits windows whose steps (Duration /
// Buckets) are a second or more. The clock runs until [CoarseClock.Stop].
func NewCoarseClock(resolution time.Duration) (*CoarseClock, error) {
	if resolution <= 0 {
		return nil, fmt.Errorf("%w: %v; it must be positive", ErrInvalidResolution, resolution)
	}
	c := &CoarseClock{
		start:      time.Now(),
		resolution: resolution,
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	go c.run()
	return c, nil
}

func (c *CoarseClock) run() {
	defer close(c.done)
	t := time.NewTicker(c.resolution)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			c.ns.Store(-1)
			return
		case <-t.C:
			c.ns.Store(int64(time.Since(c.start)))
		}
	}
}

// Resolution returns the interval between the clock's ticks.
func (c *CoarseClock) Resolution() time.Duration { return c.resolution }

// Stop stops the clock's goroutine and waits for it to end. The breakers
// that read the clock go back to the system clock. Stop may be called more
// than once.
func (c *CoarseClock) Stop() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}

// WithCoarseClock makes the breaker read c, rather than the system clock,
// to place the calls of its time-based window in their steps; see
// [CoarseClock] for what that gains and costs. New refuses a clock whose
// resolution is longer than the window's step, Duration / Buckets. The
// option does nothing to a breaker without a time-based window, and a nil c
// is ignored.
func WithCoarseClock(c *CoarseClock) Option {
	return optionFunc(func(o *options) {
		if c != nil {
			o.coarse = c
		}
	})
}

// windowNow reads the clock of the time-based window: the coarse clock, if
// the breaker has one that runs, else the breaker's own.
func (b *Breaker) windowNow() int64 {
	if c := b.coarse; c != nil {
		if n := c.ns.Load(); n >= 0 {
			return max(n-b.coarseLag, 0)
		}
	}
	return b.now()
}
