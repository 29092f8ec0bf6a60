package breaker_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/policy"
)

func TestManualAPIFollowsTheSeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 2, SuccessThreshold: 1, HalfOpenMaxRequests: 1})
		for range 2 {
			if !b.CanExecute() {
				t.Fatal("a closed breaker refused a call")
			}
			b.RecordFailure(errBoom)
		}
		wantState(t, b, breaker.Open)
		if b.CanExecute() || b.CanProceed() {
			t.Fatal("an open breaker admitted a call")
		}
		time.Sleep(time.Minute)
		if !b.CanProceed() {
			t.Fatal("the trial was refused")
		}
		if b.CanExecute() {
			t.Fatal("a second trial was admitted beyond HalfOpenMaxRequests")
		}
		b.RecordSuccess()
		wantState(t, b, breaker.Closed)
	})
}

func TestRecordFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int // failures counted
	}{
		{"an error", errBoom, 1},
		{"nil is a failure", nil, 1},
		{"context.Canceled is ignored", context.Canceled, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBreaker(t, breaker.Config{})
			b.CanExecute()
			b.RecordFailure(tc.err)
			if got := b.Failures(); got != tc.want {
				t.Fatalf("Failures() = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestManualRecordFreesTheTrialSlotInAnyState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 2})
		trip(t, b, 1)
		time.Sleep(time.Minute)
		b.CanExecute()
		b.CanExecute()
		b.RecordFailure(errBoom) // reopens; the other trial is still out
		wantState(t, b, breaker.Open)
		if got := b.Status().Trials; got != 1 {
			t.Fatalf("Trials = %d, want 1", got)
		}
		b.RecordSuccess() // arrives while open: frees its slot, counts nothing
		if got := b.Status().Trials; got != 0 {
			t.Fatalf("Trials = %d, want 0", got)
		}
		b.RecordSuccess() // a record with nothing outstanding frees nothing
		if got := b.Status().Trials; got != 0 {
			t.Fatalf("Trials = %d after a spare record", got)
		}
	})
}

func TestAllow(t *testing.T) {
	t.Run("done counts the outcome once", func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 2})
		done, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		done(errBoom)
		done(errBoom)
		if got := b.Failures(); got != 1 {
			t.Fatalf("Failures() = %d after calling done twice, want 1", got)
		}
	})
	t.Run("rejected: the error and a harmless done", func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1})
		trip(t, b, 1)
		done, err := b.Allow()
		if !errors.Is(err, breaker.ErrOpen) || !errors.Is(err, policy.ErrRejected) {
			t.Fatalf("error %v, want ErrOpen", err)
		}
		done(nil)
		wantState(t, b, breaker.Open)
	})
	t.Run("a trial admitted before a change frees its slot", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 2, SuccessThreshold: 5})
			trip(t, b, 1)
			time.Sleep(time.Minute)
			first, _ := b.Allow()
			second, _ := b.Allow()
			first(errBoom) // reopens
			time.Sleep(time.Minute)
			if got := b.Status().Trials; got != 1 {
				t.Fatalf("Trials = %d, want 1: the second trial still runs", got)
			}
			third, err := b.Allow()
			if err != nil {
				t.Fatalf("first trial of the new half-open state: %v", err)
			}
			if _, err := b.Allow(); !errors.Is(err, breaker.ErrHalfOpenFull) {
				t.Fatalf("error %v: the stale trial must still count against the cap", err)
			}
			second(nil) // stale: frees its slot, does not count
			if st := b.Status(); st.Trials != 1 || st.Successes != 0 {
				t.Fatalf("status %+v: want 1 trial, no success", st)
			}
			third(nil)
			if got := b.Status().Successes; got != 1 {
				t.Fatalf("Successes = %d, want 1", got)
			}
		})
	})
}

// TestAManualRecordNeverFreesTheSlotOfAnAllowedTrial mixes the legacy API with
// Allow, as code migrating from the seed does: a call admitted by CanExecute
// while closed, recorded once the breaker is half-open, must not free the slot
// of a trial that Allow admitted, or the slot is freed twice and the cap on
// trials is lost for good.
func TestAManualRecordNeverFreesTheSlotOfAnAllowedTrial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 1})
		if !b.CanExecute() { // a legacy call starts while closed
			t.Fatal("a closed breaker refused a call")
		}
		trip(t, b, 1)
		time.Sleep(time.Minute)
		trial, err := b.Allow()
		if err != nil {
			t.Fatalf("the trial: %v", err)
		}
		b.RecordFailure(errBoom) // the legacy call ends: a failure, which reopens
		wantState(t, b, breaker.Open)
		trial(nil) // the trial ends, stale
		if got := b.Status().Trials; got != 0 {
			t.Fatalf("Trials = %d once every call ended, want 0", got)
		}
		time.Sleep(time.Minute)
		if _, err := b.Allow(); err != nil {
			t.Fatalf("the next trial: %v", err)
		}
		if _, err := b.Allow(); !errors.Is(err, breaker.ErrHalfOpenFull) {
			t.Fatalf("a second trial with HalfOpenMaxRequests 1: error %v, want ErrHalfOpenFull", err)
		}
	})
}

func TestStatusMarshalsItsStateByName(t *testing.T) {
	b := newBreaker(t, breaker.Config{})
	b.ForceOpen()
	out, err := json.Marshal(b.Status())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"State":"forced-open"`) {
		t.Errorf("Status as JSON = %s, want the state by name", out)
	}
}
