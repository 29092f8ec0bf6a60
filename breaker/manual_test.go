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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanExecuteAndItsRecords(t *testing.T) {
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

func TestManualRecordsFreeTheTrialSlotsOfTheirHalfOpenPeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 2, SuccessThreshold: 2})
		trip(t, b, 1)
		time.Sleep(time.Minute)
		require.True(t, b.CanExecute())
		require.True(t, b.CanExecute())
		assert.Equal(t, 2, b.Status().Trials)
		b.RecordSuccess() // frees one slot
		assert.Equal(t, 1, b.Status().Trials)
		b.RecordFailure(errBoom) // reopens: the half-open period is over
		wantState(t, b, breaker.Open)
		assert.Equal(t, 0, b.Status().Trials)
		b.RecordSuccess() // a record with nothing outstanding frees nothing
		assert.Equal(t, 0, b.Status().Trials)
		time.Sleep(time.Minute)
		assert.True(t, b.CanExecute(), "the first trial of the next period")
		assert.True(t, b.CanExecute(), "the second trial of the next period")
		assert.False(t, b.CanExecute(), "a trial beyond HalfOpenMaxRequests")
	})
}

func TestAllow(t *testing.T) {
	t.Run("Done counts the outcome once", func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 2})
		permit, err := b.Allow()
		require.NoError(t, err)
		permit.Done(errBoom)
		permit.Done(errBoom)
		assert.Equal(t, 1, b.Failures(), "after calling Done twice")
	})
	t.Run("rejected: the error and a zero permit", func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1})
		trip(t, b, 1)
		permit, err := b.Allow()
		assert.ErrorIs(t, err, breaker.ErrOpen)
		assert.ErrorIs(t, err, policy.ErrRejected)
		assert.Zero(t, permit)
		permit.Done(nil)
		wantState(t, b, breaker.Open)
	})
	t.Run("the zero permit records nothing", func(t *testing.T) {
		var permit breaker.Permit
		assert.NotPanics(t, func() { permit.Done(errBoom) })
	})
	t.Run("a copy frees no slot twice", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 1, SuccessThreshold: 5})
			trip(t, b, 1)
			time.Sleep(time.Minute)
			first, err := b.Allow()
			require.NoError(t, err)
			copied := first
			first.Done(nil)
			second, err := b.Allow() // takes the slot the first trial freed
			require.NoError(t, err)
			copied.Done(nil) // the first trial again, through a copy
			st := b.Status()
			assert.Equal(t, 1, st.Trials, "the copy freed the second trial's slot")
			assert.Equal(t, 1, st.Successes, "the copy counted the first trial twice")
			_, err = b.Allow()
			assert.ErrorIs(t, err, breaker.ErrHalfOpenFull)
			second.Done(nil)
			assert.Equal(t, 2, b.Status().Successes)
		})
	})
	t.Run("a trial of an earlier half-open period frees no slot of this one", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 2, SuccessThreshold: 5})
			trip(t, b, 1)
			time.Sleep(time.Minute)
			first, _ := b.Allow()
			second, _ := b.Allow()
			first.Done(errBoom) // reopens
			time.Sleep(time.Minute)
			assert.Equal(t, 0, b.Status().Trials, "the second trial still runs, but its period is over")
			third, err := b.Allow()
			require.NoError(t, err, "first trial of the new half-open period")
			fourth, err := b.Allow()
			require.NoError(t, err, "second trial of the new half-open period")
			second.Done(nil) // stale: frees nothing, counts nothing
			st := b.Status()
			assert.Equal(t, 2, st.Trials)
			assert.Equal(t, 0, st.Successes)
			third.Done(nil)
			fourth.Done(nil)
			assert.Equal(t, 2, b.Status().Successes)
		})
	})
	t.Run("Done after Reset frees nothing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 1})
			trip(t, b, 1)
			time.Sleep(time.Minute)
			old, err := b.Allow()
			require.NoError(t, err)
			b.Reset()
			trip(t, b, 1)
			time.Sleep(time.Minute)
			trial, err := b.Allow()
			require.NoError(t, err, "Reset freed the old trial's slot")
			old.Done(nil)
			assert.Equal(t, 1, b.Status().Trials, "the old trial freed the new one's slot")
			trial.Done(nil)
			assert.Equal(t, 0, b.Status().Trials)
		})
	})
}

// TestAManualRecordNeverFreesTheSlotOfAnAllowedTrial mixes CanExecute with
// Allow, as code that moves from one to the other does: a call admitted by CanExecute
// while closed, recorded once the breaker is half-open, must not free the slot
// of a trial that Allow admitted, or the slot is freed twice and the cap on
// trials is lost for good.
func TestAManualRecordNeverFreesTheSlotOfAnAllowedTrial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 1})
		if !b.CanExecute() { // a CanExecute call starts while closed
			t.Fatal("a closed breaker refused a call")
		}
		trip(t, b, 1)
		time.Sleep(time.Minute)
		trial, err := b.Allow()
		if err != nil {
			t.Fatalf("the trial: %v", err)
		}
		b.RecordFailure(errBoom) // the CanExecute call ends: a failure, which reopens
		wantState(t, b, breaker.Open)
		trial.Done(nil) // the trial ends, stale
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
