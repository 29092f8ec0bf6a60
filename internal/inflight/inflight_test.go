package inflight_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/aragora/resilience/internal/inflight"
	"github.com/stretchr/testify/assert"
)

// The share is a percent of the executions in flight, never below its floor.
func TestTheShareFollowsTheExecutionsInFlight(t *testing.T) {
	s := inflight.New(20, 1)
	assert.True(t, s.Acquire(), "the floor, with no execution")
	assert.False(t, s.Acquire())
	for range 10 {
		s.Begin()
	}
	assert.True(t, s.Acquire(), "20% of 10 is 2")
	assert.False(t, s.Acquire())
	s.Release()
	assert.True(t, s.Acquire(), "a released unit is free again")
	for range 10 {
		s.End()
	}
	executions, extra := s.InFlight()
	assert.Equal(t, 0, executions)
	assert.Equal(t, 2, extra, "units already taken stay until released")
}

// Concurrent callers never hold more than the share between them.
func TestConcurrentAcquiresStayWithinTheShare(t *testing.T) {
	s := inflight.New(0, 3)
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := 0
	for range 64 {
		wg.Go(func() {
			if s.Acquire() {
				mu.Lock()
				got++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 3, got)
}

func Example() {
	s := inflight.New(10, 1) // 10% of the executions, at least 1
	s.Begin()
	fmt.Println(s.Acquire(), s.Acquire())
	s.Release()
	s.End()
	// Output: true false
}
