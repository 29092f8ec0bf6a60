package breaker_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestErrorMessagesNameThePackageAndRoundDurations(t *testing.T) {
	_, err := breaker.New("", breaker.Config{})
	assert.EqualError(t, err, "breaker: name is empty")
	assert.ErrorIs(t, err, breaker.ErrInvalidConfig)

	_, err = breaker.New("payments", breaker.Config{Cooldown: -time.Second})
	assert.EqualError(t, err, `breaker: "payments": Config.Cooldown is -1s; it must not be negative`)
	assert.ErrorIs(t, err, breaker.ErrInvalidConfig)

	synctest.Test(t, func(t *testing.T) {
		b, err := breaker.New("payments", breaker.Config{FailureThreshold: 1, Cooldown: 30 * time.Second, HalfOpenMaxRequests: 1})
		require.NoError(t, err)
		trip(t, b, 1)
		time.Sleep(4569 * time.Nanosecond) // 29.999995431s left
		assert.EqualError(t, openError(t, b), `breaker: "payments" is open; next trial in 30s`)
		time.Sleep(28*time.Second + 500*time.Millisecond - 4569*time.Nanosecond)
		assert.EqualError(t, openError(t, b), `breaker: "payments" is open; next trial in 1.5s`)
		time.Sleep(1250 * time.Millisecond)
		assert.EqualError(t, openError(t, b), `breaker: "payments" is open; next trial in 250ms`)
		time.Sleep(250 * time.Millisecond)
		permit, err := b.Allow()
		require.NoError(t, err)
		assert.EqualError(t, openError(t, b), `breaker: "payments" is half-open and its trial calls are all in flight`)
		permit.Done(nil)
		b.ForceOpen()
		assert.EqualError(t, openError(t, b), `breaker: "payments" is forced open`)
	})
	assert.EqualError(t, breaker.ErrOpen, "breaker: open")
	assert.EqualError(t, breaker.ErrHalfOpenFull, "breaker: half-open, its trial calls all in flight")
}

// A Breaker not made by New is no breaker: every method that would use it
// panics with a message that says to use New.
func TestTheZeroBreakerPanicsNamingNew(t *testing.T) {
	const msg = "breaker: Breaker not made by New; make one with breaker.New or breaker.Get"
	ctx := context.Background()
	for name, use := range map[string]func(b *breaker.Breaker){
		"Allow":         func(b *breaker.Breaker) { _, _ = b.Allow() },
		"CanExecute":    func(b *breaker.Breaker) { b.CanExecute() },
		"RecordSuccess": func(b *breaker.Breaker) { b.RecordSuccess() },
		"RecordFailure": func(b *breaker.Breaker) { b.RecordFailure(errBoom) },
		"Execute":       func(b *breaker.Breaker) { _ = b.Execute(ctx, succeed) },
		"State":         func(b *breaker.Breaker) { b.State() },
		"Status":        func(b *breaker.Breaker) { b.Status() },
		"Failures":      func(b *breaker.Breaker) { b.Failures() },
		"Reset":         func(b *breaker.Breaker) { b.Reset() },
		"ForceOpen":     func(b *breaker.Breaker) { b.ForceOpen() },
	} {
		t.Run(name, func(t *testing.T) {
			assert.PanicsWithError(t, msg, func() { use(&breaker.Breaker{}) })
		})
	}
}
