package bulkhead_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/bulkhead"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// load drives a bulkhead with a fixed number of workers that call it back to
// back, each call taking the latency of the moment, and records the peak
// number of calls running at once since the last reset.
type load struct {
	b       *bulkhead.Bulkhead
	latency atomic.Int64 // nanoseconds
	running atomic.Int64
	peak    atomic.Int64
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

func startLoad(b *bulkhead.Bulkhead, workers int, latency time.Duration) *load {
	l := &load{b: b}
	l.latency.Store(int64(latency))
	ctx, stop := context.WithCancel(context.Background())
	l.stop = stop
	for range workers {
		l.wg.Go(func() {
			for ctx.Err() == nil {
				_ = b.Execute(ctx, func(context.Context) error {
					n := l.running.Add(1)
					for p := l.peak.Load(); n > p && !l.peak.CompareAndSwap(p, n); p = l.peak.Load() {
					}
					time.Sleep(time.Duration(l.latency.Load()))
					l.running.Add(-1)
					return nil
				})
			}
		})
	}
	return l
}

func (l *load) set(latency time.Duration) { l.latency.Store(int64(latency)) }

// resetPeak starts a new measure of the peak concurrency.
func (l *load) resetPeak() { l.peak.Store(l.running.Load()) }

func (l *load) end() {
	l.stop()
	l.wg.Wait()
}

func TestAdaptiveLimitShrinksUnderRisingLatencyAndGrowsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ceiling = 40
		b := mustNew(t, "adaptive", bulkhead.Config{
			MaxConcurrent: ceiling,
			MaxQueue:      100,
			Adaptive:      &bulkhead.Adaptive{MinLimit: 2, Window: 100 * time.Millisecond},
		})
		l := startLoad(b, 60, 10*time.Millisecond)
		defer l.end()

		// Steady latency: the baseline settles and the limit stays at the
		// ceiling, which the load fills.
		time.Sleep(5 * time.Second)
		if s := b.Stats(); s.Limit != ceiling {
			t.Fatalf("limit %d after 5s of steady latency, want the ceiling, %d", s.Limit, ceiling)
		}
		if p := l.peak.Load(); p != ceiling {
			t.Errorf("peak concurrency %d under steady latency, want %d", p, ceiling)
		}

		// Latency rises by 2ms every window, from 10ms to 70ms: a queue
		// building up downstream. The limit must fall, and the bulkhead
		// must admit no more than it.
		limits := []int{b.Stats().Limit}
		for range 30 {
			l.set(time.Duration(l.latency.Load()) + 2*time.Millisecond)
			time.Sleep(100 * time.Millisecond)
			limits = append(limits, b.Stats().Limit)
		}
		shrunk := b.Stats().Limit
		t.Logf("limit while latency rose: %v", limits)
		if shrunk > ceiling/2 {
			t.Errorf("limit %d after latency rose sevenfold, want at most %d", shrunk, ceiling/2)
		}
		for i := 1; i < len(limits); i++ {
			if limits[i] > limits[i-1] {
				t.Errorf("limit grew from %d to %d while latency rose", limits[i-1], limits[i])
			}
		}
		l.resetPeak()
		time.Sleep(time.Second)
		if p, lim := l.peak.Load(), b.Stats().Limit; p > int64(max(lim, shrunk)) {
			t.Errorf("peak concurrency %d with the limit at %d", p, lim)
		}

		// Latency recovers: the limit grows back to the ceiling.
		l.set(10 * time.Millisecond)
		time.Sleep(15 * time.Second)
		if s := b.Stats(); s.Limit != ceiling {
			t.Errorf("limit %d 15s after latency recovered, want the ceiling, %d", s.Limit, ceiling)
		}
		l.resetPeak()
		time.Sleep(time.Second)
		if p := l.peak.Load(); p != ceiling {
			t.Errorf("peak concurrency %d after recovery, want %d", p, ceiling)
		}
	})
}

func TestAdaptiveLimitIgnoresLatencyWhenNotTheBottleneck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, "idle", bulkhead.Config{
			MaxConcurrent: 40,
			Adaptive:      &bulkhead.Adaptive{Window: 100 * time.Millisecond},
		})
		// Five callers never use more than an eighth of the permits: the
		// limit is not what holds them back, whatever the latency does.
		l := startLoad(b, 5, 10*time.Millisecond)
		defer l.end()
		time.Sleep(3 * time.Second)
		for range 30 {
			l.set(time.Duration(l.latency.Load()) + 5*time.Millisecond)
			time.Sleep(100 * time.Millisecond)
		}
		if s := b.Stats(); s.Limit != 40 {
			t.Errorf("limit %d, want 40: five callers never press on it", s.Limit)
		}
	})
}

func TestAdaptiveLimitStaysWithinFloorAndCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, "bounded", bulkhead.Config{
			MaxConcurrent: 20,
			MaxQueue:      50,
			Adaptive:      &bulkhead.Adaptive{MinLimit: 8, InitialLimit: 10, Window: 50 * time.Millisecond},
		})
		if got := b.Stats().Limit; got != 10 {
			t.Fatalf("initial limit %d, want InitialLimit, 10", got)
		}
		l := startLoad(b, 30, 5*time.Millisecond)
		defer l.end()
		lowest, highest := 10, 10
		watch := func(d time.Duration) {
			for end := time.Now().Add(d); time.Now().Before(end); {
				time.Sleep(50 * time.Millisecond)
				lim := b.Stats().Limit
				lowest, highest = min(lowest, lim), max(highest, lim)
			}
		}
		watch(5 * time.Second) // steady: grows from 10 to the ceiling
		if highest != 20 {
			t.Errorf("highest limit %d under steady latency, want the ceiling, 20", highest)
		}
		for range 100 { // latency climbs without end
			l.set(time.Duration(l.latency.Load()) + 5*time.Millisecond)
			watch(50 * time.Millisecond)
		}
		if lowest != 8 {
			t.Errorf("lowest limit %d as latency climbed without end, want the floor, 8", lowest)
		}
		if s := b.Stats(); s.Ceiling != 20 {
			t.Errorf("Stats().Ceiling = %d, want 20", s.Ceiling)
		}
	})
}

// A call whose context is done before it starts never runs the protected
// function, so its (near zero) latency says nothing of the resource: it takes
// no permit and teaches the adaptive limit nothing. Under overload, a stream
// of expired requests would otherwise push the limit up.
func TestExpiredCallsTeachTheAdaptiveLimitNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, "expired", bulkhead.Config{
			MaxConcurrent: 10,
			Adaptive:      &bulkhead.Adaptive{InitialLimit: 2, Window: time.Second, MinSamples: 10, Smoothing: 1},
		})
		expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
		defer cancel()
		ran := 0
		for range 100 { // 10 s of expired requests, 10 a second
			for range 10 {
				err := b.Execute(expired, func(context.Context) error { ran++; return nil })
				require.ErrorIs(t, err, context.DeadlineExceeded)
			}
			time.Sleep(100 * time.Millisecond)
		}
		require.Zero(t, ran, "the protected function ran")
		assert.Equal(t, 2, b.Stats().Limit, "the limit moved on calls that never ran")
		wantIdle(t, b)
	})
}
