package health_test

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/health"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestACheckThatIgnoresItsContextCannotHoldTheReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker(t, health.Config{Timeout: time.Second, FailureThreshold: 1})
		release := make(chan struct{})
		var calls atomic.Int32
		mustRegister(t, c, "stuck", func(context.Context) error {
			calls.Add(1)
			<-release // ignores its context
			return nil
		})
		mustRegister(t, c, "db", pass)

		start := time.Now()
		r := c.CheckAll(context.Background())
		if d := time.Since(start); d != time.Second {
			t.Errorf("CheckAll returned after %v, want at the 1s timeout", d)
		}
		stuck := r.Checks["stuck"]
		if !errors.Is(stuck.LastError, health.ErrTimeout) || !errors.Is(stuck.LastError, context.DeadlineExceeded) {
			t.Errorf("LastError = %v, want one matching ErrTimeout and context.DeadlineExceeded", stuck.LastError)
		}
		if stuck.Status != health.Unhealthy || stuck.Latency != time.Second {
			t.Errorf("stuck = %v after %v, want unhealthy after 1s", stuck.Status, stuck.Latency)
		}
		if r.Checks["db"].Status != health.Healthy {
			t.Errorf("the other check: %v", r.Checks["db"].Status)
		}

		// While the straggler runs, the check is not started again.
		r = c.CheckAll(context.Background())
		if calls.Load() != 1 || !errors.Is(r.Checks["stuck"].LastError, health.ErrStillRunning) ||
			r.Checks["stuck"].ConsecutiveFailures != 2 {
			t.Errorf("second run: %d calls, %+v; want 1 call and a second failure with ErrStillRunning",
				calls.Load(), r.Checks["stuck"])
		}

		// Once it returns, the check runs again.
		close(release)
		synctest.Wait()
		r = c.CheckAll(context.Background())
		if calls.Load() != 2 || r.Checks["stuck"].Status != health.Healthy {
			t.Errorf("after release: %d calls, status %v; want 2 and healthy", calls.Load(), r.Checks["stuck"].Status)
		}
	})
}

func TestASuccessAfterTheTimeoutStillCountsAsATimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker(t, health.Config{Timeout: time.Second, FailureThreshold: 1})
		mustRegister(t, c, "slow", func(context.Context) error {
			time.Sleep(1500 * time.Millisecond) // ignores its context, then passes
			return nil
		})
		c.CheckAll(context.Background())
		time.Sleep(time.Second)
		synctest.Wait()
		slow := c.Report().Checks["slow"]
		if !errors.Is(slow.LastError, health.ErrTimeout) || slow.Status != health.Unhealthy || !slow.LastPassed.IsZero() {
			t.Errorf("after the late success: %+v, want the timeout to stand", slow)
		}
	})
}

func TestTheCheckContextEndsAtItsTimeout(t *testing.T) {
	tests := []struct {
		name string
		opts []health.CheckOption
		want time.Duration
	}{
		{"the checker's timeout", nil, 2 * time.Second},
		{"a timeout of its own", []health.CheckOption{health.WithTimeout(300 * time.Millisecond)}, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newChecker(t, health.Config{Timeout: 2 * time.Second})
				var deadline time.Time
				var cause error
				mustRegister(t, c, "db", func(ctx context.Context) error {
					deadline, _ = ctx.Deadline()
					<-ctx.Done()
					cause = context.Cause(ctx)
					return ctx.Err()
				}, tt.opts...)
				start := time.Now()
				r := c.CheckAll(context.Background())
				synctest.Wait()
				if deadline.Sub(start) != tt.want || !errors.Is(cause, health.ErrTimeout) {
					t.Errorf("deadline in %v with cause %v, want %v and ErrTimeout", deadline.Sub(start), cause, tt.want)
				}
				if got := r.Checks["db"]; got.Latency != tt.want || !errors.Is(got.LastError, health.ErrTimeout) {
					t.Errorf("latency %v, error %v; want %v and ErrTimeout", got.Latency, got.LastError, tt.want)
				}
			})
		})
	}
}

func TestStopWaitsForStragglers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ignore := goleak.IgnoreCurrent() // the bubble's own
		c := newChecker(t, health.Config{Timeout: time.Second})
		release := make(chan struct{})
		mustRegister(t, c, "stuck", func(context.Context) error {
			<-release
			return nil
		})
		c.CheckAll(context.Background()) // returns at the timeout, leaving the straggler

		stopped := make(chan struct{})
		go func() {
			c.Stop()
			close(stopped)
		}()
		synctest.Wait()
		select {
		case <-stopped:
			t.Fatal("Stop returned while a check was still running")
		default:
		}
		close(release)
		<-stopped
		if err := goleak.Find(ignore); err != nil {
			t.Errorf("after Stop: %v", err)
		}
	})
}

func TestShutdownBoundsTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker(t, health.Config{Timeout: time.Second})
		release := make(chan struct{})
		mustRegister(t, c, "stuck", func(context.Context) error {
			<-release
			return nil
		})
		c.CheckAll(context.Background())

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want context.DeadlineExceeded while the check is stuck", err)
		}
		close(release)
		if err := c.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown after release = %v", err)
		}
	})
}

func TestStopCancelsRunsWithoutCountingThem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker(t, health.Config{Timeout: time.Minute, FailureThreshold: 1})
		var got error
		mustRegister(t, c, "db", func(ctx context.Context) error {
			<-ctx.Done()
			got = ctx.Err()
			return got
		})
		done := make(chan health.Report)
		go func() { done <- c.CheckAll(context.Background()) }()
		synctest.Wait()
		start := time.Now()
		c.Stop()
		r := <-done
		if time.Since(start) != 0 || !errors.Is(got, context.Canceled) {
			t.Errorf("Stop took %v and the check saw %v, want at once and context.Canceled", time.Since(start), got)
		}
		if db := r.Checks["db"]; db.Status != health.Unknown || db.ConsecutiveFailures != 0 {
			t.Errorf("a run cut short by Stop was counted: %+v", db)
		}
	})
}

// A run whose first waiter left early, settled much later by the next
// CheckAll, keeps its own figures: the latency is its timeout, and it ended
// when it timed out.
func TestALateSettledTimeoutKeepsItsOwnLatencyAndTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker(t, health.Config{Timeout: time.Second, FailureThreshold: 1})
		release := make(chan struct{})
		defer close(release)
		mustRegister(t, c, "stuck", func(context.Context) error { <-release; return nil })
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond) // the probe gives up
		c.CheckAll(ctx)
		cancel()
		time.Sleep(time.Minute)

		st := c.CheckAll(context.Background()).Checks["stuck"]
		require.ErrorIs(t, st.LastError, health.ErrTimeout)
		assert.Equal(t, time.Second, st.Latency, "Latency: the 1s timeout")
		assert.Equal(t, time.Second, st.LastRun.Sub(start), "LastRun: when the run timed out")
	})
}

// A check that ends its goroutine with runtime.Goexit (t.FailNow in a test
// helper, say) has returned: its run fails with ErrGoexit, and the next
// CheckAll runs it again instead of reporting ErrStillRunning forever.
func TestAGoexitInACheckDoesNotWedgeIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker(t, health.Config{Timeout: time.Second, FailureThreshold: 1})
		var calls atomic.Int32
		mustRegister(t, c, "goexit", func(context.Context) error {
			if calls.Add(1) == 1 {
				runtime.Goexit()
			}
			return nil
		})
		start := time.Now()
		r := c.CheckAll(context.Background()).Checks["goexit"]
		assert.Zero(t, time.Since(start), "CheckAll waited for the timeout")
		assert.ErrorIs(t, r.LastError, health.ErrGoexit)
		assert.Equal(t, health.Unhealthy, r.Status)

		time.Sleep(time.Hour)
		r = c.CheckAll(context.Background()).Checks["goexit"]
		assert.EqualValues(t, 2, calls.Load(), "calls")
		assert.Equal(t, health.Healthy, r.Status)
		assert.NoError(t, r.LastError)
	})
}
