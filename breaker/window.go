package breaker

import "sync/atomic"

// window holds the outcomes of the recent calls of a closed breaker in
// sliding-window mode: the last Size calls (count-based), or the calls of the
// last Buckets steps of time (time-based). It is guarded by the breaker's
// lock, but for the calls of the buckets' tallies, to which successes are
// added without it (see addFast); the zero window, for consecutive mode,
// does nothing.
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
	gen     uint32 // the breaker's generation, whose low bits tag the buckets
	// fastHead and fastIdx are head and its bucket, for addFast, which
	// reads them without the lock: a bucket whose tag is not that of
	// fastHead refuses addFast's compare-and-swap, so a pair read across a
	// move of the window costs a trip to the locked path, never a call.
	fastHead, fastIdx atomic.Int64

	// Totals over the window. A time-based window counts its calls in its
	// buckets' tallies only: see calls.
	calls, failures, slow int

	// clean is set while no call in the window failed or was slow, and, for
	// a count-based window, the window is full: one more call that neither
	// fails nor is slow then cannot open the breaker, so it is recorded
	// without the breaker's lock (a count-based window leaves it out
	// altogether, as it changes nothing). It is read without the lock, and
	// cleared before each change of generation.
	clean atomic.Bool
}

// bucket is one step of a time-based window. Its tally packs a tag, the step
// and the generation it counts for (their low bits), with its calls, so that
// a success is added to it with one compare-and-swap, which fails once the
// bucket has moved on to another step or generation.
type bucket struct {
	tally          atomic.Uint64
	failures, slow int // under the breaker's lock
}

const (
	tallyCallBits = 36 // calls per bucket: up to 6.8e10
	tallyGenBits  = 8
	tallyCalls    = 1<<tallyCallBits - 1
	tallyGenShift = tallyCallBits
	tallyStepSh   = tallyCallBits + tallyGenBits
)

// tag returns the tag of the bucket of step k in generation gen.
func tag(k int64, gen uint32) uint64 {
	return uint64(k)<<tallyStepSh | uint64(gen&(1<<tallyGenBits-1))<<tallyGenShift
}

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
		w.retag()
	}
}

// retag empties the buckets of a time-based window and tags them with the
// steps up to head, in the current generation.
func (w *window) retag() {
	n := int64(len(w.buckets))
	for k := w.head - n + 1; k <= w.head; k++ {
		b := &w.buckets[(k%n+n)%n]
		b.tally.Store(tag(k, w.gen))
		b.failures, b.slow = 0, 0
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
		b.tally.Add(1)
		b.failures += f
		b.slow += s
		w.failures += f
		w.slow += s
		w.setClean(w.failures == 0 && w.slow == 0)
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

// addFast adds a success that ended at now to a clean time-based window,
// without the breaker's lock, if the bucket of now's step is in the window
// for generation gen; it reports whether it did. When it did not, the caller
// takes the lock and adds the call there.
func (w *window) addFast(now int64, gen uint32) bool {
	k := w.fastHead.Load()
	if start := k * w.ws.width; now < start || now-start >= w.ws.width {
		return false // not in the newest step: the window must move first
	}
	b := &w.buckets[w.fastIdx.Load()]
	want := tag(k, gen)
	for {
		t := b.tally.Load()
		if t&^tallyCalls != want || t&tallyCalls == tallyCalls {
			return false
		}
		if b.tally.CompareAndSwap(t, t+1) {
			return true
		}
	}
}

// advance moves a time-based window to the step of now, dropping the calls
// of the steps that leave it. Readings of the clock taken before the window
// last moved count in its newest step.
func (w *window) advance(now int64) {
	if w.buckets == nil {
		return
	}
	step := now / w.ws.width
	if step <= w.head {
		return
	}
	n := int64(len(w.buckets))
	for k := max(w.head+1, step-n+1); k <= step; k++ {
		b := &w.buckets[k%n]
		w.failures -= b.failures
		w.slow -= b.slow
		b.failures, b.slow = 0, 0
		b.tally.Store(tag(k, w.gen))
	}
	w.head = step
	w.fastHead.Store(step)
	w.fastIdx.Store(step % n)
}

// callsNow returns the calls in the window.
func (w *window) callsNow() int {
	if w.buckets == nil {
		return w.calls
	}
	calls := 0
	for i := range w.buckets {
		calls += int(w.buckets[i].tally.Load() & tallyCalls)
	}
	return calls
}

func (w *window) setClean(clean bool) {
	if w.clean.Load() != clean {
		w.clean.Store(clean)
	}
}

// reset empties the window, for generation gen.
func (w *window) reset(gen uint32) {
	w.setClean(false)
	w.gen = gen
	// The ring's old outcomes need no clearing: they are overwritten before
	// the window is full again, which is when they would be read.
	w.next = 0
	if w.buckets != nil {
		w.retag()
	}
	w.calls, w.failures, w.slow = 0, 0, 0
}

func (w *window) counts() Counts {
	return Counts{Failures: w.failures, Calls: w.callsNow(), SlowCalls: w.slow}
}

// tripped reports whether the window's rates open the breaker, once the call
// whose outcome was failure and slow has been added.
func (w *window) tripped(failure, slow bool) bool {
	if w.ws == nil || w.failures == 0 && w.slow == 0 {
		return false
	}
	calls := w.callsNow()
	if calls < w.ws.minCalls || calls == 0 {
		return false
	}
	// In a count-based window, where calls leave only as others enter, the
	// rates can reach their thresholds only as a failed or slow call enters,
	// or as the window reaches its MinimumCalls: skip the arithmetic
	// otherwise. In a time-based one, calls leave with time, and successes
	// leaving raise the rates.
	if w.ring != nil && !failure && !slow && calls != w.ws.minCalls {
		return false
	}
	if float64(w.failures)/float64(calls) >= w.ws.failRate {
		return true
	}
	return w.ws.slow > 0 && float64(w.slow)/float64(calls) >= w.ws.slowRate
}

// recordWindow counts the outcome of a call admitted closed, in
// sliding-window mode.
func (b *Breaker) recordWindow(t ticket, v Verdict) change {
	if v == Ignore {
		return change{}
	}
	var now int64
	switch {
	case t.timed():
		now = b.now()
	case b.s.window.buckets > 0:
		now = b.windowNow()
	}
	slow := t.timed() && now-t.at >= int64(b.s.window.slow)
	if v == Success && !slow && b.win.clean.Load() {
		if b.win.ring != nil {
			// The window is full of successes: this one changes
			// nothing. (Or the call is stale, and would not count.)
			return change{}
		}
		if w := b.word.Load(); genOf(w) != t.gen || stateOf(w) != Closed {
			return change{} // stale
		}
		if b.win.addFast(now, t.gen) {
			return change{}
		}
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
