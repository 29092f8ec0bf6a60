package breaker_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The trial slots of a half-open breaker belong to one half-open period:
// neither Reset nor a later trip and cooldown lets a call of an earlier period
// hold a slot of a later one, and user code that panics (a Classifier, a
// listener, the caller of Permit.Done) never leaks the slot of its call.

// Reset closes the breaker "as if it were new": a trial that hangs across it
// must not wedge every later half-open period.
func TestResetFreesTheSlotsOfRunningTrials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 1, Cooldown: time.Second})
		trip(t, b, 1)
		time.Sleep(time.Second)

		hung := make(chan struct{})
		go b.Execute(context.Background(), func(context.Context) error { <-hung; return nil })
		synctest.Wait()
		require.Equal(t, 1, b.Status().Trials, "the hung trial holds the only slot")

		b.Reset()
		assert.Equal(t, 0, b.Status().Trials, "after Reset, as if new")
		trip(t, b, 1)
		time.Sleep(time.Second)
		assert.NoError(t, b.Execute(context.Background(), succeed),
			"the first trial after Reset, a trip and the cooldown: a new breaker admits it")
		close(hung)
		synctest.Wait()
		assert.Equal(t, 0, b.Status().Trials, "the stale trial, ending, freed a slot that was not its own")
	})
}

// A trial still running when its half-open period ends holds no slot of the
// next one, which admits its full HalfOpenMaxRequests.
func TestATrialOfAnEarlierHalfOpenPeriodHoldsNoSlotOfALaterOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1, SuccessThreshold: 1, HalfOpenMaxRequests: 2, Cooldown: time.Second})
		trip(t, b, 1)
		time.Sleep(time.Second)
		slow := make(chan struct{})
		go b.Execute(context.Background(), func(context.Context) error { <-slow; return nil }) // trial 1: slow
		synctest.Wait()
		require.NoError(t, b.Execute(context.Background(), succeed)) // trial 2 closes the breaker
		wantState(t, b, breaker.Closed)
		trip(t, b, 1)
		time.Sleep(time.Second)

		var permits []breaker.Permit
		for range 2 {
			p, err := b.Allow()
			if assert.NoError(t, err, "a trial of the new half-open period") {
				permits = append(permits, p)
			}
		}
		_, err := b.Allow()
		assert.ErrorIs(t, err, breaker.ErrHalfOpenFull, "a third trial, beyond HalfOpenMaxRequests")

		close(slow) // the stale trial ends: it must free none of the new slots
		synctest.Wait()
		assert.Equal(t, 2, b.Status().Trials)
		_, err = b.Allow()
		assert.ErrorIs(t, err, breaker.ErrHalfOpenFull, "the stale trial freed a slot of the new period")
		for i := range permits {
			permits[i].Done(nil)
		}
		assert.Equal(t, 0, b.Status().Trials)
	})
}

// A Classifier that panics counts its call as a failure, frees the call's
// trial slot, and the panic goes on up the stack.
func TestAPanickingClassifierFreesTheTrialSlot(t *testing.T) {
	errOdd := errors.New("odd")
	classifier := func(err error) breaker.Verdict {
		if err == errOdd {
			panic("a bug in user code")
		}
		return breaker.Failure
	}
	t.Run("Execute", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 1, Cooldown: time.Second, Classifier: classifier})
			trip(t, b, 1)
			time.Sleep(time.Second)
			assert.Panics(t, func() { _ = b.Execute(context.Background(), func(context.Context) error { return errOdd }) })
			assert.Equal(t, 0, b.Status().Trials, "after the trial returned")
			wantState(t, b, breaker.Open) // the call counted as a failure
			time.Sleep(time.Second)
			assert.NoError(t, b.Execute(context.Background(), succeed), "after the cooldown: the trial slot was leaked")
		})
	})
	t.Run("Permit.Done", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 1, Cooldown: time.Second, Classifier: classifier})
			trip(t, b, 1)
			time.Sleep(time.Second)
			p, err := b.Allow()
			require.NoError(t, err)
			assert.Panics(t, func() { p.Done(errOdd) })
			assert.Equal(t, 0, b.Status().Trials, "after Done panicked")
			wantState(t, b, breaker.Open)
			p.Done(nil) // already done: counts nothing
			wantState(t, b, breaker.Open)
			time.Sleep(time.Second)
			_, err = b.Allow()
			assert.NoError(t, err, "after the cooldown: the trial slot was leaked")
		})
	})
}

// The same holds for RecordFailure, the record of a call CanExecute admitted.
func TestAPanickingClassifierInRecordFailureFreesTheTrialSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		armed := false
		b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 1, Cooldown: time.Second,
			Classifier: func(error) breaker.Verdict {
				if armed {
					panic("a bug in user code")
				}
				return breaker.Failure
			}})
		trip(t, b, 1)
		armed = true
		time.Sleep(time.Second)
		require.True(t, b.CanExecute())
		assert.Panics(t, func() { b.RecordFailure(errBoom) })
		assert.Equal(t, 0, b.Status().Trials, "after RecordFailure panicked")
		wantState(t, b, breaker.Open)
		time.Sleep(time.Second)
		assert.True(t, b.CanExecute(), "after the cooldown: the trial slot was leaked")
	})
}

// A listener that panics on the change from open to half-open, which the
// admission of a trial causes, does not leak the trial's slot: the call it
// would have admitted never runs, and frees its slot.
func TestAListenerThatPanicsOnHalfOpenFreesTheTrialSlot(t *testing.T) {
	admit := map[string]func(*breaker.Breaker) error{
		"Execute": func(b *breaker.Breaker) error { return b.Execute(context.Background(), succeed) },
		"Allow": func(b *breaker.Breaker) error {
			p, err := b.Allow()
			p.Done(nil)
			return err
		},
		"CanExecute": func(b *breaker.Breaker) error {
			if !b.CanExecute() {
				return breaker.ErrOpen
			}
			b.RecordSuccess()
			return nil
		},
	}
	for name, admit := range admit {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBreaker(t, breaker.Config{FailureThreshold: 1, SuccessThreshold: 2, HalfOpenMaxRequests: 1, Cooldown: time.Second})
				armed := true
				b.OnStateChange(func(sc breaker.StateChange) {
					if armed && sc.To == breaker.HalfOpen {
						armed = false
						panic("listener bug")
					}
				})
				trip(t, b, 1)
				time.Sleep(time.Second)
				assert.Panics(t, func() { _ = admit(b) })
				assert.Equal(t, 0, b.Status().Trials, "after the listener panicked")
				wantState(t, b, breaker.HalfOpen)
				assert.NoError(t, admit(b), "the next trial: the slot was leaked")
				assert.Equal(t, 0, b.Status().Trials)
			})
		})
	}
}

// The manual APIs mixed under concurrency, across many changes of state:
// every slot is free once every call is recorded.
func TestEverySlotIsFreeOnceEveryCallIsRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 2, SuccessThreshold: 2, HalfOpenMaxRequests: 2, Cooldown: 50 * time.Microsecond})
		changes := 0
		b.OnStateChange(func(breaker.StateChange) { changes++ })
		done := make(chan struct{})
		for g := range 32 {
			go func() {
				defer func() { done <- struct{}{} }()
				for i := range 300 {
					fail := (g*7+i*13)%5 < 2
					var err error
					if fail {
						err = errBoom
					}
					switch (g + i) % 3 {
					case 0:
						if b.CanExecute() {
							time.Sleep(time.Duration(i%7) * time.Microsecond)
							if fail {
								b.RecordFailure(err)
							} else {
								b.RecordSuccess()
							}
						}
					case 1:
						if p, aerr := b.Allow(); aerr == nil {
							time.Sleep(time.Duration(i%5) * time.Microsecond)
							p.Done(err)
						}
					case 2:
						_ = b.Execute(context.Background(), func(context.Context) error {
							time.Sleep(time.Duration(i%3) * time.Microsecond)
							return err
						})
					}
					time.Sleep(time.Duration(i%11) * time.Microsecond)
				}
			}()
		}
		for range 32 {
			<-done
		}
		assert.Equal(t, 0, b.Status().Trials, "once every call is recorded")
		assert.Greater(t, changes, 10, "the hammer must go through many changes of state")
	})
}
