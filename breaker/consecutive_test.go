package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/policy"
)

func TestExactlyThresholdConsecutiveFailuresOpen(t *testing.T) {
	for _, tc := range []struct {
		threshold int // in the Config
		want      int // failures that open it
	}{
		{0, 5}, // the default
		{1, 1},
		{3, 3},
		{8, 8},
	} {
		t.Run(fmt.Sprintf("FailureThreshold=%d", tc.threshold), func(t *testing.T) {
			b := newBreaker(t, breaker.Config{FailureThreshold: tc.threshold})
			for i := 1; i < tc.want; i++ {
				if !call(t, b, fail) {
					t.Fatalf("failure %d was rejected", i)
				}
				wantState(t, b, breaker.Closed)
				if got := b.Failures(); got != i {
					t.Fatalf("after %d failures, Failures() = %d", i, got)
				}
			}
			call(t, b, fail)
			wantState(t, b, breaker.Open)
			if call(t, b, succeed) {
				t.Fatal("an open breaker ran a call")
			}
		})
	}
}

func TestSuccessResetsConsecutiveFailures(t *testing.T) {
	b := newBreaker(t, breaker.Config{FailureThreshold: 3})
	call(t, b, fail)
	call(t, b, fail)
	call(t, b, succeed)
	if got := b.Failures(); got != 0 {
		t.Fatalf("Failures() after a success = %d, want 0", got)
	}
	call(t, b, fail)
	call(t, b, fail)
	wantState(t, b, breaker.Closed)
	call(t, b, fail)
	wantState(t, b, breaker.Open)
}

func TestOpenRejectsUntilCooldownThenHalfOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1, Cooldown: 30 * time.Second})
		trip(t, b, 1)
		oe := openError(t, b)
		if oe.State != breaker.Open || oe.Name != t.Name() {
			t.Fatalf("rejection %+v, want state open and name %q", oe, t.Name())
		}
		if got := oe.RetryAfter(); got != 30*time.Second {
			t.Fatalf("RetryAfter() = %v, want 30s", got)
		}
		time.Sleep(30*time.Second - time.Nanosecond)
		wantState(t, b, breaker.Open)
		if got := openError(t, b).RetryAfter(); got != time.Nanosecond {
			t.Fatalf("RetryAfter() a nanosecond before the trial = %v", got)
		}
		time.Sleep(time.Nanosecond)
		wantState(t, b, breaker.HalfOpen)
		if got := oe.RetryAfter(); got != 0 {
			t.Fatalf("RetryAfter() once the trial is due = %v, want 0", got)
		}
		if !call(t, b, succeed) {
			t.Fatal("the first trial call was rejected")
		}
	})
}

func TestHalfOpenAdmitsAtMostMaxRequests(t *testing.T) {
	for _, max := range []int{0, 1, 2, 5} {
		t.Run(fmt.Sprintf("HalfOpenMaxRequests=%d", max), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: max, SuccessThreshold: 100})
				want := max
				if want == 0 {
					want = 3
				}
				trip(t, b, 1)
				time.Sleep(time.Minute)
				var held []func(error)
				for i := range want {
					release, ok := hold(t, b)
					if !ok {
						t.Fatalf("trial %d was rejected", i+1)
					}
					held = append(held, release)
				}
				oe := openError(t, b)
				if !errors.Is(oe, breaker.ErrHalfOpenFull) || !errors.Is(oe, breaker.ErrOpen) || !errors.Is(oe, policy.ErrRejected) {
					t.Fatalf("rejection %v: want ErrHalfOpenFull, ErrOpen and ErrRejected", oe)
				}
				if got := b.Status().Trials; got != want {
					t.Fatalf("Status().Trials = %d, want %d", got, want)
				}
				held[0](nil) // a trial ends: its slot is free again
				release, ok := hold(t, b)
				if !ok {
					t.Fatal("a freed slot was not given to the next call")
				}
				if _, ok := hold(t, b); ok {
					t.Fatal("a trial beyond the cap was admitted")
				}
				release(nil)
				for _, r := range held[1:] {
					r(nil)
				}
				if got := b.Status().Trials; got != 0 {
					t.Fatalf("Status().Trials once all ended = %d", got)
				}
			})
		})
	}
}

func TestSuccessThresholdSuccessesClose(t *testing.T) {
	for _, threshold := range []int{0, 1, 4} {
		t.Run(fmt.Sprintf("SuccessThreshold=%d", threshold), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBreaker(t, breaker.Config{FailureThreshold: 1, SuccessThreshold: threshold})
				want := threshold
				if want == 0 {
					want = 3
				}
				trip(t, b, 1)
				time.Sleep(time.Minute)
				for i := 1; i < want; i++ {
					call(t, b, succeed)
					wantState(t, b, breaker.HalfOpen)
					if got := b.Status().Successes; got != i {
						t.Fatalf("Successes after %d trials = %d", i, got)
					}
				}
				call(t, b, succeed)
				wantState(t, b, breaker.Closed)
				if st := b.Status(); st.Successes != 0 || st.Trips != 0 || !st.OpenedAt.IsZero() {
					t.Fatalf("closed status %+v: want counts, trips and opening cleared", st)
				}
			})
		})
	}
}

func TestOneFailureInHalfOpenReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 2, Cooldown: 10 * time.Second})
		trip(t, b, 2)
		time.Sleep(10 * time.Second)
		call(t, b, succeed)
		call(t, b, succeed)
		call(t, b, fail)
		wantState(t, b, breaker.Open)
		st := b.Status()
		if st.Trips != 2 || !st.NextTrial.Equal(time.Now().Add(10*time.Second)) {
			t.Fatalf("status %+v: want 2 trips and the next trial in 10s", st)
		}
	})
}

func TestCooldownGrowsWithTripsInARowUpToTheCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{
			FailureThreshold:   1,
			SuccessThreshold:   1,
			Cooldown:           time.Minute,
			CooldownMultiplier: 2,
			MaxCooldown:        5 * time.Minute,
		})
		trip(t, b, 1)
		for i, want := range []time.Duration{1, 2, 4, 5, 5} {
			want *= time.Minute
			if got := openError(t, b).RetryAfter(); got != want {
				t.Fatalf("trip %d: cooldown %v, want %v", i+1, got, want)
			}
			time.Sleep(want)
			call(t, b, fail) // the trial fails: open again
		}
		time.Sleep(5 * time.Minute)
		call(t, b, succeed) // closes: the growth starts again
		wantState(t, b, breaker.Closed)
		call(t, b, fail)
		if got := openError(t, b).RetryAfter(); got != time.Minute {
			t.Fatalf("cooldown after closing %v, want 1m", got)
		}
	})
}

func TestDefaultMaxCooldownIsTenCooldowns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1, Cooldown: time.Second, CooldownMultiplier: 100})
		trip(t, b, 1)
		time.Sleep(time.Second)
		call(t, b, fail)
		if got := openError(t, b).RetryAfter(); got != 10*time.Second {
			t.Fatalf("second cooldown %v, want the 10s cap", got)
		}
	})
}

func TestPanicCountsAsFailureAndFreesItsSlot(t *testing.T) {
	boom := func(context.Context) error { panic("boom") }
	mustPanic := func(t *testing.T, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not reach the caller")
			}
		}()
		f()
	}
	t.Run("closed", func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 2})
		mustPanic(t, func() { b.Execute(context.Background(), boom) })
		if got := b.Failures(); got != 1 {
			t.Fatalf("Failures() after a panic = %d, want 1", got)
		}
	})
	t.Run("half-open", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 1})
			trip(t, b, 1)
			time.Sleep(time.Minute)
			mustPanic(t, func() { b.Execute(context.Background(), boom) })
			wantState(t, b, breaker.Open)
			if got := b.Status().Trials; got != 0 {
				t.Fatalf("the panicking trial still holds its slot: Trials = %d", got)
			}
			time.Sleep(time.Minute)
			if !call(t, b, succeed) {
				t.Fatal("no slot for the trial after the panic")
			}
		})
	})
	t.Run("in a policy inside the breaker", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 1})
			p := policy.MustNew("inner-panics", b, panicking{})
			trip(t, b, 1)
			time.Sleep(time.Minute)
			mustPanic(t, func() { p.Execute(context.Background(), succeed) })
			wantState(t, b, breaker.Open)
			if got := b.Status().Trials; got != 0 {
				t.Fatalf("Trials after a panic in an inner policy = %d", got)
			}
		})
	})
	t.Run("pipeline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 1, SuccessThreshold: 2})
			p := policy.MustNew("panics", b)
			trip(t, b, 1)
			time.Sleep(time.Minute)
			mustPanic(t, func() { p.Execute(context.Background(), boom) })
			wantState(t, b, breaker.Open)
			if got := b.Status().Trials; got != 0 {
				t.Fatalf("Trials after a panic in a pipeline = %d", got)
			}
		})
	})
}

func TestOutcomesOfCallsAdmittedBeforeAChangeAreNotCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 2, SuccessThreshold: 1})
		late, _ := hold(t, b) // admitted closed
		trip(t, b, 2)
		time.Sleep(time.Minute)
		call(t, b, succeed) // closes: a new generation
		wantState(t, b, breaker.Closed)
		late(errBoom)
		if got := b.Failures(); got != 0 {
			t.Fatalf("a failure from before the trip counted after it: Failures() = %d", got)
		}
	})
}

// panicking is a policy with a bug: it panics in Run.
type panicking struct{}

func (panicking) Run(context.Context, policy.Execution) error { panic("policy bug") }
