package breaker

import (
	"slices"
	"sync/atomic"
)

// notifier delivers a breaker's changes of state to its listeners: in the
// order they happened, after the breaker's lock is released, one change at a
// time. Its fields are guarded by the breaker's lock.
type notifier struct {
	listeners  []*listener // copy-on-write: queued changes keep their slice
	pending    []pendingChange
	delivering bool // a goroutine is calling listeners
}

type listener struct {
	fn  func(StateChange)
	off atomic.Bool // unsubscribed
}

// pendingChange is a change waiting for delivery, with the listeners that
// were subscribed when it happened.
type pendingChange struct {
	sc StateChange
	to []*listener
}

// OnStateChange subscribes fn to the breaker's changes of state, and returns
// the function that unsubscribes it. Several listeners may subscribe; each
// hears of every change that happens after it subscribed, in order, with the
// counts that led to it.
//
// Listeners are called after the breaker's lock is released, so they may use
// the breaker, but from whichever goroutine caused the change (or, when
// changes pile up, the one already delivering), so they should be quick. A
// change made by a listener is delivered after the one it is hearing of. To
// learn the state the first change will start from, subscribe with
// [Breaker.Watch].
func (b *Breaker) OnStateChange(fn func(StateChange)) (unsubscribe func()) {
	_, unsubscribe = b.Watch(fn)
	return unsubscribe
}

// Watch is [Breaker.OnStateChange] that also returns the breaker's state at
// the moment fn subscribed: the From of the first change fn will hear of. A
// watcher thus misses neither the initial state nor any change. (An open
// breaker whose cooldown has passed is still Open here, as the change to
// HalfOpen is yet to be delivered.)
func (b *Breaker) Watch(fn func(StateChange)) (current State, unsubscribe func()) {
	if fn == nil {
		return stateOf(b.word.Load()), func() {}
	}
	l := &listener{fn: fn}
	b.mu.Lock()
	b.listeners = append(slices.Clip(b.listeners), l)
	current = stateOf(b.word.Load())
	b.mu.Unlock()
	return current, func() {
		l.off.Store(true)
		b.mu.Lock()
		b.listeners = slices.DeleteFunc(slices.Clone(b.listeners), func(x *listener) bool { return x == l })
		b.mu.Unlock()
	}
}

// queueLocked queues sc for the listeners subscribed now.
func (b *Breaker) queueLocked(sc StateChange) {
	if len(b.listeners) > 0 {
		b.pending = append(b.pending, pendingChange{sc: sc, to: b.listeners})
	}
}

// afterChange delivers the queued changes, once the lock is released, when
// there was a change.
func (b *Breaker) afterChange(changed bool) {
	if changed {
		b.deliver()
	}
}

// deliver calls the listeners of the queued changes, unless another goroutine
// already is: that one will deliver them, in order.
func (b *Breaker) deliver() {
	b.mu.Lock()
	if b.delivering || len(b.pending) == 0 {
		b.mu.Unlock()
		return
	}
	b.delivering = true
	b.mu.Unlock()
	finished := false
	defer func() {
		if !finished { // a listener panicked: the next change delivers the rest
			b.mu.Lock()
			b.delivering = false
			b.mu.Unlock()
		}
	}()
	for {
		b.mu.Lock()
		if len(b.pending) == 0 {
			// In the same critical section as the check, so that a change
			// queued from now on finds no one delivering, and delivers.
			b.pending, b.delivering = nil, false
			b.mu.Unlock()
			finished = true
			return
		}
		p := b.pending[0]
		b.pending[0] = pendingChange{}
		b.pending = b.pending[1:]
		b.mu.Unlock()
		for _, l := range p.to {
			if !l.off.Load() {
				l.fn(p.sc)
			}
		}
	}
}
