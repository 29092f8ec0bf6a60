package health

import (
	"fmt"

	"go.opentelemetry.io/otel"
)

type listener struct {
	id uint64
	fn func(StatusChange)
}

// OnStatusChange adds a listener for status changes and returns the
// function that removes it (safe to call more than once). A nil fn is
// ignored.
//
// The listener is called once per change, both for each check's status
// (StatusChange.Check is the check's name) and for the checker's overall
// status (Check is ""); a run that changes both gives the check's change
// first. Listeners are called after the checker's lock is released, one
// change at a time and in the order the changes happened, so they may call
// the checker (even CheckAll), except [Checker.Stop] and [Checker.Shutdown]:
// those wait for every goroutine of the checker, including the one calling
// the listener, so a listener that wants to stop the checker must do so from
// a goroutine of its own (go c.Stop()). Listeners must not block for long:
// they hold up the delivery of later changes. A listener that panics is recovered and the
// panic handed to otel.Handle, so that it cannot take down the background
// loop.
func (c *Checker) OnStatusChange(fn func(StatusChange)) (unsubscribe func()) {
	if fn == nil {
		return func() {}
	}
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	// Copy on write: deliver iterates a snapshot without the lock.
	ls := make([]listener, len(c.listeners), len(c.listeners)+1)
	copy(ls, c.listeners)
	c.listeners = append(ls, listener{id: id, fn: fn})
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, l := range c.listeners {
			if l.id == id {
				ls := make([]listener, 0, len(c.listeners)-1)
				ls = append(ls, c.listeners[:i]...)
				c.listeners = append(ls, c.listeners[i+1:]...)
				return
			}
		}
	}
}

// deliver hands the queued changes to the listeners. One goroutine delivers
// at a time, outside the lock; the others leave their changes to it.
func (c *Checker) deliver() {
	c.mu.Lock()
	if c.draining {
		c.mu.Unlock()
		return
	}
	c.draining = true
	for len(c.pending) > 0 {
		batch, ls := c.pending, c.listeners
		c.pending = nil
		c.mu.Unlock()
		for _, change := range batch {
			for _, l := range ls {
				notify(l.fn, change)
			}
		}
		c.mu.Lock()
	}
	c.draining = false
	c.mu.Unlock()
}

func notify(fn func(StatusChange), change StatusChange) {
	defer func() {
		if v := recover(); v != nil {
			otel.Handle(fmt.Errorf("health: status-change listener panicked: %v", v))
		}
	}()
	fn(change)
}
