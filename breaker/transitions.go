package breaker

import "math"

// trialLocked counts the outcome of a trial call of the current half-open
// state.
func (b *Breaker) trialLocked(v Verdict) change {
	switch v {
	case Success:
		b.successes++
		if b.successes >= b.s.successThreshold {
			return b.transitionLocked(Closed)
		}
	case Failure:
		b.trialFailures++
		return b.transitionLocked(Open)
	}
	return change{}
}

// transitionLocked moves the breaker to state to, which must differ from the
// current one, and queues the change for the listeners.
func (b *Breaker) transitionLocked(to State) change {
	if to == Open {
		// Build the trip's rejection before the state says open, so that
		// the lock-free readers of an open state always find it.
		now := b.now()
		b.trips++
		cooldown := b.s.cooldownFor(b.trips)
		at := now + int64(cooldown)
		if at < now { // overflow
			at = math.MaxInt64
		}
		b.openedAt = now
		b.openErr.Store(&OpenError{Name: b.name, State: Open, NextTrial: b.timeAt(at), trialAt: at})
	}
	b.win.setClean(false) // before the new generation: see window.clean
	w := b.resetLocked(to)
	sc := StateChange{Name: b.name, From: stateOf(w), To: to, Counts: b.countsAt(w)}
	b.successes, b.trialFailures = 0, 0
	// The trials of a half-open period hold no slot of a later one.
	b.slots.clear()
	b.manualTrials = 0
	b.trials.Store(0)
	b.win.reset(genOf(b.word.Load()))
	if to != Open && to != HalfOpen {
		b.trips = 0
	}
	b.queueLocked(sc)
	return change{ok: true, from: sc.From, to: to}
}

// resetLocked sets the state to s in a new generation, with no consecutive
// failures, and returns the word it replaced.
func (b *Breaker) resetLocked(s State) uint64 {
	for {
		w := b.word.Load()
		if b.word.CompareAndSwap(w, pack(s, genOf(w)+1)) {
			return w
		}
	}
}

// countsAt returns the tallies of the state of word w, the current word or
// the one just replaced.
func (b *Breaker) countsAt(w uint64) Counts {
	switch stateOf(w) {
	case Closed:
		if b.s.window != nil {
			return b.win.counts()
		}
		return Counts{Failures: failsOf(w)}
	case HalfOpen:
		return Counts{Failures: b.trialFailures, Successes: b.successes}
	}
	return Counts{}
}

// ForceOpen holds the breaker open: every call is rejected with an error
// matching ErrOpen, nothing is counted, and the breaker stays so until
// Reset. Calls already running finish uncounted.
func (b *Breaker) ForceOpen() { b.set(ForcedOpen) }

// Disable turns the breaker off: every call runs, nothing is counted, and the
// breaker stays so until Reset.
func (b *Breaker) Disable() { b.set(Disabled) }

// Reset closes the breaker and clears its counts, as if it were new; it also
// ends ForceOpen and Disable. The outcomes of calls running at the time are
// not counted, and the trial calls among them hold no trial slot from then
// on: a trial that hangs cannot keep a later half-open period from admitting
// HalfOpenMaxRequests trials.
func (b *Breaker) Reset() { b.set(Closed) }

func (b *Breaker) set(to State) {
	mustBeMade(b.word.Load())
	b.mu.Lock()
	var ch change
	if stateOf(b.word.Load()) != to {
		ch = b.transitionLocked(to)
	} else if to == Closed {
		b.win.setClean(false) // before the new generation: see window.clean
		b.resetLocked(Closed)
		b.win.reset(genOf(b.word.Load()))
		b.trips = 0
	}
	b.mu.Unlock()
	b.afterChange(ch.ok)
}
