package bulkhead_test

import (
	"context"
	"testing"
	"time"

	"github.com/aragora/resilience/bulkhead"
	"github.com/stretchr/testify/assert"
)

func TestErrorMessagesNameThePackage(t *testing.T) {
	_, err := bulkhead.New("", bulkhead.Config{})
	assert.EqualError(t, err, "bulkhead: name is empty")
	assert.ErrorIs(t, err, bulkhead.ErrInvalidConfig)

	_, err = bulkhead.New("pool", bulkhead.Config{MaxQueue: -1})
	assert.EqualError(t, err, `bulkhead: "pool": Config.MaxQueue is -1, want 0 (no queue) to 2147483647`)
	assert.ErrorIs(t, err, bulkhead.ErrInvalidConfig)

	full := &bulkhead.RejectedError{Bulkhead: "pool", Cause: bulkhead.ErrFull}
	assert.EqualError(t, full, `bulkhead: "pool" is full`)
	waited := &bulkhead.RejectedError{Bulkhead: "pool", Cause: bulkhead.ErrWaitTimeout, MaxWait: 1500 * time.Millisecond}
	assert.EqualError(t, waited, `bulkhead: "pool": no permit within 1.5s`)
}

// A Bulkhead not made by New is no bulkhead: taking a permit from it panics
// with a message that says to use New.
func TestTheZeroBulkheadPanicsNamingNew(t *testing.T) {
	const msg = "bulkhead: Bulkhead not made by New; make one with bulkhead.New or bulkhead.Get"
	ctx := context.Background()
	for name, use := range map[string]func(b *bulkhead.Bulkhead){
		"TryAcquire": func(b *bulkhead.Bulkhead) { b.TryAcquire() },
		"Release":    func(b *bulkhead.Bulkhead) { b.Release() },
		"Acquire":    func(b *bulkhead.Bulkhead) { _, _ = b.Acquire(ctx) },
		"Execute":    func(b *bulkhead.Bulkhead) { _ = b.Execute(ctx, func(context.Context) error { return nil }) },
	} {
		t.Run(name, func(t *testing.T) {
			assert.PanicsWithError(t, msg, func() { use(&bulkhead.Bulkhead{}) })
		})
	}
}
