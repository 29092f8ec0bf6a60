package breaker

import "sync/atomic"

// Allow asks the breaker to admit a call that the caller runs itself. When it
// does, Allow returns done, which the caller must call with the call's
// outcome once it ends, whatever happens. When it does not, Allow returns the
// rejection, an [*OpenError], and a done that does nothing.
//
//	done, err := cb.Allow()
//	if err != nil {
//		return err // rejected: fail fast
//	}
//	err = callService(ctx)
//	done(err)
//
// If the work may panic, call done from a deferred function, with any error
// (a panic is a failure), or its trial slot stays held.
//
// done counts the outcome as [Breaker.Execute] does, frees the trial slot of
// the call if it holds one, and does nothing when called again. Unlike the
// records of CanExecute, done belongs to the call Allow admitted: it never
// frees another call's slot, and a call admitted before a change of state is
// not counted after it. It also times the call for the slow-call rule. Allow
// costs one small allocation.
func (b *Breaker) Allow() (done func(err error), err error) {
	t, rej := b.admit()
	if rej != nil {
		return noDone, rej
	}
	var called atomic.Bool
	return func(err error) {
		if called.CompareAndSwap(false, true) {
			b.finish(t, b.verdict(err))
		}
	}, nil
}

func noDone(error) {}

// CanExecute asks the breaker to admit a call, as the seed's can_execute()
// does: it reports whether the call may run. A call it admits must be
// followed by exactly one RecordSuccess or RecordFailure, once the call ends:
// while half-open, the breaker holds a trial slot for it until then, and a
// call never recorded keeps its slot forever.
//
// The records carry no ticket: the breaker counts each in the state it is in
// when it arrives, and frees with it a trial slot that CanExecute gave, whenever
// one is held, even if the recorded call was admitted in another state. (It
// never frees the slot of a call admitted by [Breaker.Allow] or run by
// [Breaker.Execute] or a pipeline: those free their own.) Where calls may
// overlap a change of state, or code paths may forget to record, prefer
// [Breaker.Allow].
// Manual records are not timed, so the slow-call rule does not see them.
func (b *Breaker) CanExecute() bool {
	t, rej := b.admit()
	if rej == nil && t.kind == trialCall {
		b.mu.Lock()
		b.manualTrials++
		b.mu.Unlock()
	}
	return rej == nil
}

// CanProceed is CanExecute, under the name of the legacy API.
func (b *Breaker) CanProceed() bool { return b.CanExecute() }

// RecordSuccess records that a call admitted by CanExecute succeeded.
func (b *Breaker) RecordSuccess() { b.recordManual(Success) }

// RecordFailure records that a call admitted by CanExecute failed with err.
// The Classifier has its say on err, so the default one ignores
// context.Canceled; a nil err is a failure.
func (b *Breaker) RecordFailure(err error) {
	v := Failure
	if err != nil {
		v = b.verdict(err)
	}
	b.recordManual(v)
}

func (b *Breaker) recordManual(v Verdict) {
	w := b.word.Load()
	if stateOf(w) == Closed && b.trials.Load() == 0 {
		b.finish(ticket{kind: closedCall, gen: genOf(w)}, v)
		return
	}
	b.mu.Lock()
	if b.manualTrials > 0 {
		b.manualTrials--
		b.trials.Add(-1)
	}
	w = b.word.Load()
	var ch change
	switch stateOf(w) {
	case Closed:
		b.mu.Unlock()
		b.finish(ticket{kind: closedCall, gen: genOf(w)}, v)
		return
	case HalfOpen:
		ch = b.trialLocked(v)
	}
	b.mu.Unlock()
	b.afterChange(ch.ok)
}
