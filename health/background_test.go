package health_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/health"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// runTimes is a check that records when it runs, on the bubble's clock.
type runTimes struct {
	mu    sync.Mutex
	times []time.Time
}

func (r *runTimes) check(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.times = append(r.times, time.Now())
	return nil
}

func (r *runTimes) get() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.times...)
}

func TestStartRunsTheChecksEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker(t, health.Config{CheckInterval: 10 * time.Second}, health.WithJitter(0))
		var runs runTimes
		mustRegister(t, c, "db", runs.check)
		start := time.Now()
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(35 * time.Second)
		got := runs.get()
		want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 30 * time.Second}
		if len(got) != len(want) {
			t.Fatalf("%d runs in 35s, want %d", len(got), len(want))
		}
		for i, at := range got {
			if at.Sub(start) != want[i] {
				t.Errorf("run %d at %v, want %v", i, at.Sub(start), want[i])
			}
		}

		// Report and the handlers read the latest results without running.
		for range 5 {
			if r := c.Report(); r.Checks["db"].Status != health.Healthy {
				t.Fatalf("Report: %v", r.Checks["db"].Status)
			}
		}
		if n := len(runs.get()); n != len(want) {
			t.Errorf("Report ran the check: %d runs", n)
		}
	})
}

func TestJitterStaysWithinItsBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 10 * time.Second
		c := newChecker(t, health.Config{CheckInterval: interval}, health.WithJitter(0.2))
		var runs runTimes
		mustRegister(t, c, "db", runs.check)
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * interval)
		got := runs.get()
		if len(got) < 100 {
			t.Fatalf("%d runs in 100 intervals, want at least 100", len(got))
		}
		gaps := map[time.Duration]bool{}
		for i := 1; i < len(got); i++ {
			gap := got[i].Sub(got[i-1])
			if gap <= 8*time.Second || gap > interval {
				t.Errorf("gap %d = %v, want in (8s, 10s]", i, gap)
			}
			gaps[gap] = true
		}
		if len(gaps) < 10 {
			t.Errorf("only %d distinct gaps among %d: no jitter", len(gaps), len(got)-1)
		}
	})
}

func TestStartAndStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ignore := goleak.IgnoreCurrent()
		c := newChecker(t, health.Config{CheckInterval: time.Second})
		var runs runTimes
		mustRegister(t, c, "db", runs.check)

		ctx, cancel := context.WithCancel(context.Background())
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); !errors.Is(err, health.ErrStarted) {
			t.Errorf("second Start = %v, want ErrStarted", err)
		}

		// Cancelling Start's context ends the loop; Start may then run again.
		cancel()
		synctest.Wait()
		n := len(runs.get())
		time.Sleep(5 * time.Second)
		if len(runs.get()) != n {
			t.Errorf("the loop ran on after its context ended")
		}
		if err := c.Start(context.Background()); err != nil {
			t.Errorf("Start after the loop ended = %v", err)
		}
		time.Sleep(5 * time.Second)
		if len(runs.get()) <= n {
			t.Errorf("the restarted loop did not run")
		}

		c.Stop()
		n = len(runs.get())
		time.Sleep(5 * time.Second)
		if len(runs.get()) != n {
			t.Errorf("the loop ran on after Stop")
		}
		if err := c.Start(context.Background()); !errors.Is(err, health.ErrStopped) {
			t.Errorf("Start after Stop = %v, want ErrStopped", err)
		}
		if err := goleak.Find(ignore); err != nil {
			t.Errorf("after Stop: %v", err)
		}
	})
}

func TestGoroutinesEndWithStop(t *testing.T) {
	// Outside a bubble, on the real clock: the loop, runs under way and a
	// straggler all end by the time Stop returns.
	c, err := health.NewChecker("api", health.Config{CheckInterval: time.Hour, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	mustRegister(t, c, "db", func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-started
	c.Stop()
	goleak.VerifyNone(t)
}

// Each check keeps its own schedule: a check that hangs until its long
// timeout (WithTimeout) holds back no other check, which still runs every
// CheckInterval.
func TestEachCheckKeepsItsOwnSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker(t, health.Config{CheckInterval: 10 * time.Second, Timeout: time.Second}, health.WithJitter(0))
		var fast runTimes
		mustRegister(t, c, "fast", fast.check)
		mustRegister(t, c, "slow", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
			health.WithTimeout(5*time.Minute))
		start := time.Now()
		require.NoError(t, c.Start(context.Background()))
		time.Sleep(2 * time.Minute)
		synctest.Wait()

		got := fast.get()
		require.NotEmpty(t, got)
		assert.Zero(t, got[0].Sub(start), "first run")
		for i := 1; i < len(got); i++ {
			assert.Equal(t, 10*time.Second, got[i].Sub(got[i-1]), "gap before run %d", i)
		}
		assert.Len(t, got, 13, "runs in 2 minutes, one every 10s from 0 to 120s")
		assert.Equal(t, health.Unknown, c.Report().Checks["slow"].Status, "slow has not timed out yet")
	})
}

// A check registered on a started checker runs at once, on its own
// schedule, without waiting for the others.
func TestACheckRegisteredAfterStartRunsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker(t, health.Config{CheckInterval: 10 * time.Second}, health.WithJitter(0))
		var first, late runTimes
		mustRegister(t, c, "first", first.check)
		require.NoError(t, c.Start(context.Background()))
		time.Sleep(3 * time.Second)
		added := time.Now()
		mustRegister(t, c, "late", late.check)
		time.Sleep(20 * time.Second)
		synctest.Wait()

		got := late.get()
		require.Len(t, got, 3, "late runs at 0, 10s and 20s after Register")
		for i, at := range got {
			assert.Equal(t, time.Duration(i)*10*time.Second, at.Sub(added), "late run %d", i)
		}
		assert.Len(t, first.get(), 3, "first runs at 0, 10s and 20s after Start")
	})
}
