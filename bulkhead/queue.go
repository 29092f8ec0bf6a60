package bulkhead

import (
	"context"
	"time"

	"github.com/aragora/resilience/policy"
)

// waiter is a call waiting for a permit. Waiters are not pooled: a channel
// made inside a testing/synctest bubble cannot be used outside it, and a
// pool would hand one bubble's channel to another.
type waiter struct {
	prev, next *waiter
	granted    bool          // guarded by Bulkhead.mu: a permit was handed over
	ready      chan struct{} // one token, sent when granted
}

// waitQueue is a FIFO list of waiters that can drop any of them in O(1),
// as a cancelled waiter needs.
type waitQueue struct {
	head, tail *waiter
}

func (q *waitQueue) pushBack(w *waiter) {
	w.prev, w.next = q.tail, nil
	if q.tail == nil {
		q.head = w
	} else {
		q.tail.next = w
	}
	q.tail = w
}

func (q *waitQueue) remove(w *waiter) {
	if w.prev == nil {
		q.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		q.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
}

// wait is the slow path of taking a permit: it takes one if the word changed
// since TryAcquire failed, refuses the call if the queue is full, and else
// queues it until a permit is handed over, MaxWait runs out or ctx is done.
// queued reports whether the call joined the queue; waited is how long it
// stayed there.
func (b *Bulkhead) wait(ctx context.Context) (waited time.Duration, queued bool, err error) {
	b.mu.Lock()
	for {
		s := b.state.Load()
		if s>>32 == 0 && inflightOf(s) < b.limit.Load() {
			if b.state.CompareAndSwap(s, s+1) {
				b.mu.Unlock()
				return 0, false, nil
			}
			continue
		}
		if queuedOf(s) >= int64(b.cfg.MaxQueue) {
			b.mu.Unlock()
			b.rejected.Add(1)
			return 0, false, b.errFull
		}
		if ctx.Err() != nil {
			b.mu.Unlock()
			return 0, false, policy.ContextError(ctx)
		}
		// The compare-and-swap fails, and the loop looks again, if a permit
		// was released since the load: nobody is queued behind a free permit.
		if b.state.CompareAndSwap(s, s+oneWaiter) {
			break
		}
	}
	w := &waiter{ready: make(chan struct{}, 1)}
	b.queue.pushBack(w)
	b.mu.Unlock()

	start := time.Now()
	var expired <-chan time.Time
	if b.cfg.MaxWait > 0 {
		t := time.NewTimer(b.cfg.MaxWait)
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-w.ready:
		return time.Since(start), true, nil
	case <-ctx.Done():
		err = policy.ContextError(ctx)
	case <-expired:
		err = b.errWait
	}
	waited = time.Since(start)

	b.mu.Lock()
	if w.granted {
		// A permit was handed over as the wait ended. The caller has given
		// up, so pass the permit on rather than hold it.
		b.mu.Unlock()
		b.Release()
	} else {
		b.queue.remove(w)
		b.state.Add(minusWaiter)
		b.mu.Unlock()
	}
	if err == b.errWait {
		b.timedOut.Add(1)
	}
	return waited, true, err
}

// releaseSlow returns a permit while calls wait, handing permits to them in
// order for as long as the limit allows.
func (b *Bulkhead) releaseSlow() {
	b.mu.Lock()
	b.state.Add(minusPermit)
	b.grantLocked()
	b.mu.Unlock()
}

// grantLocked hands free permits to the longest-waiting calls. The caller
// holds b.mu; while anyone waits, nothing else changes the state word.
func (b *Bulkhead) grantLocked() {
	for w := b.queue.head; w != nil; w = b.queue.head {
		if inflightOf(b.state.Load()) >= b.limit.Load() {
			return
		}
		b.state.Add(grantDelta)
		b.queue.remove(w)
		w.granted = true
		w.ready <- struct{}{}
	}
}

// setLimit moves the limit to n, and hands the permits it frees to waiting
// calls. It holds b.mu so that no call joins the queue on the strength of the
// old limit after the new one has been looked at.
func (b *Bulkhead) setLimit(n int64) {
	b.mu.Lock()
	if old := b.limit.Swap(n); n > old {
		b.grantLocked()
	}
	b.mu.Unlock()
}
