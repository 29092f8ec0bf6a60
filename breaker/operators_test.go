package breaker_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/breaker"
)

func TestOperatorStates(t *testing.T) {
	t.Run("forced open rejects everything until Reset", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, breaker.Config{})
			b.ForceOpen()
			wantState(t, b, breaker.ForcedOpen)
			oe := openError(t, b)
			if !errors.Is(oe, breaker.ErrOpen) || oe.State != breaker.ForcedOpen || oe.RetryAfter() != 0 {
				t.Fatalf("rejection %+v: want ErrOpen, state forced-open, no RetryAfter", oe)
			}
			time.Sleep(time.Hour)
			wantState(t, b, breaker.ForcedOpen)
			b.Reset()
			wantState(t, b, breaker.Closed)
			if !call(t, b, succeed) {
				t.Fatal("rejected after Reset")
			}
		})
	})
	t.Run("disabled admits everything and counts nothing", func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1})
		b.Disable()
		for range 10 {
			if !call(t, b, fail) {
				t.Fatal("a disabled breaker rejected a call")
			}
		}
		wantState(t, b, breaker.Disabled)
		if got := b.Failures(); got != 0 {
			t.Fatalf("Failures() = %d while disabled", got)
		}
		b.Reset()
		wantState(t, b, breaker.Closed)
	})
	t.Run("Reset clears the counts of a closed breaker", func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 2})
		call(t, b, fail)
		b.Reset()
		call(t, b, fail)
		wantState(t, b, breaker.Closed)
	})
	t.Run("Reset closes an open breaker", func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1})
		trip(t, b, 1)
		b.Reset()
		wantState(t, b, breaker.Closed)
		if st := b.Status(); st.Trips != 0 || !st.NextTrial.IsZero() {
			t.Fatalf("status after Reset %+v", st)
		}
	})
}

func TestStateStrings(t *testing.T) {
	for s, want := range map[breaker.State]string{
		breaker.Closed:     "closed",
		breaker.Open:       "open",
		breaker.HalfOpen:   "half-open",
		breaker.ForcedOpen: "forced-open",
		breaker.Disabled:   "disabled",
		breaker.State(99):  "unknown",
	} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", s, got, want)
		}
	}
}
