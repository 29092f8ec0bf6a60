package breaker

import "sync/atomic"

// window holds the outcomes of the recent calls of a closed breaker in
// sliding-window mode: the last Size calls (count-based), or the calls of the
// last Buckets steps of time (time-based). It is guarded by the breaker's
// lock; the zero window, for consecutive mode, does nothing.
type window struct {
	ws *windowSettings // nil in consecutive mode

	// count-based: outcome bits of the last calls, a ring whose next slot
	// is next; calls ≤ len(ring) of them are in the window.
	ring []uint8
	next int

	// time-based: bucket k%len(buckets) holds the calls that ended in step
	// k of the breaker's clock, for the steps head-len(buckets) < k ≤ head.
	buckets []bucket
	head    int64

	calls, failures, slow int // totals over the window

	// clean is set while a count-based window is full of calls that neither
	// failed nor were slow: one more such call leaves it as it is, so the
	// breaker records it without taking its lock. It is read without the
	// lock, and cleared before each change of generation.
	clean atomic.Bool
}

type bucket struct{ calls, failures, slow int }

const (
	bitFailure uint8 = 1 << iota
	bitSlow
)

func (w *window) init(ws *windowSettings) {
	w.ws = ws
	switch {
	case ws == nil:
	case ws.size > 0:
		w.ring = make([]uint8, ws.size)
	default:
		w.buckets = make([]bucket, ws.buckets)
	}
}

// add puts the outcome of a call that ended at now into the window.
func (w *window) add(now int64, failure, slow bool) {
	var f, s int
	if failure {
		f = 1
	}
	if slow {
		s = 1
	}
	if w.ring == nil {
		w.advance(now)
		b := &w.buckets[w.head%int64(len(w.buckets))]
		b.calls++
		b.failures += f
		b.slow += s
		w.calls++
		w.failures += f
		w.slow += s
		return
	}
	if w.calls == len(w.ring) { // full: the oldest call leaves
		old := w.ring[w.next]
		w.calls--
		w.failures -= int(old & bitFailure)
		w.slow -= int(old&bitSlow) >> 1
	}
	w.ring[w.next] = uint8(f) | uint8(s)<<1
	w.next++
	if w.next == len(w.ring) {
		w.next = 0
	}
	w.calls++
	w.failures += f
	w.slow += s
	w.setClean(w.calls == len(w.ring) && w.failures == 0 && w.slow == 0)
}

// advance moves a time-based window to the step of now, dropping the calls
// of the steps that leave it. Readings of the clock taken before the window
// last moved count in its newest step.
func (w *window) advance(now int64) {
	if w.buckets == nil {
		return
	}
	step := now / w.ws.width
	n := int64(len(w.buckets))
	for k := w.head + 1; k <= step && k <= w.head+n; k++ {
		b := &w.buckets[k%n]
		w.calls -= b.calls
		w.failures -= b.failures
		w.slow -= b.slow
		*b = bucket{}
	}
	if step > w.head {
		w.head = step
	}
}

func (w *window) setClean(clean bool) {
	if w.clean.Load() != clean {
		w.clean.Store(clean)
	}
}

// reset empties the window.
func (w *window) reset() {
	w.setClean(false)
	// The ring's old outcomes need no clearing: they are overwritten before
	// the window is full again, which is when they would be read.
	w.next = 0
	clear(w.buckets)
	w.calls, w.failures, w.slow = 0, 0, 0
}

func (w *window) counts() Counts {
	return Counts{Failures: w.failures, Calls: w.calls, SlowCalls: w.slow}
}

// tripped reports whether the window's rates open the breaker, once the call
// whose outcome was failure and slow has been added.
func (w *window) tripped(failure, slow bool) bool {
	if w.ws == nil || w.calls < w.ws.minCalls || w.calls == 0 {
		return false
	}
	// In a count-based window, where calls leave only as others enter, the
	// rates can reach their thresholds only as a failed or slow call enters,
	// or as the window reaches its MinimumCalls: skip the arithmetic
	// otherwise. In a time-based one, calls leave with time, and successes
	// leaving raise the rates.
	if w.ring != nil && !failure && !slow && w.calls != w.ws.minCalls {
		return false
	}
	calls := float64(w.calls)
	if float64(w.failures)/calls >= w.ws.failRate {
		return true
	}
	return w.ws.slow > 0 && float64(w.slow)/calls >= w.ws.slowRate
}

// recordWindow counts the outcome of a call admitted closed, in
// sliding-window mode.
func (b *Breaker) recordWindow(t ticket, v Verdict) change {
	if v == Ignore {
		return change{}
	}
	var now int64
	if t.timed() || b.s.window.buckets > 0 {
		now = b.now()
	}
	slow := t.timed() && now-t.at >= int64(b.s.window.slow)
	if v == Success && !slow && b.win.clean.Load() {
		// The window is full of successes: this one changes nothing. (Or
		// the call is stale, and would not count.)
		return change{}
	}
	b.mu.Lock()
	var ch change
	if w := b.word.Load(); genOf(w) == t.gen && stateOf(w) == Closed {
		b.win.add(now, v == Failure, slow)
		if b.win.tripped(v == Failure, slow) {
			ch = b.transitionLocked(Open)
		}
	}
	b.mu.Unlock()
	b.afterChange(ch.ok)
	return ch
}
