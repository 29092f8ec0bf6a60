package breaker

// Allow asks the breaker to admit a call that the caller runs itself. When it
// does, Allow returns a [Permit], whose Done the caller must call with the
// call's outcome once the call ends, whatever happens. When it does not,
// Allow returns the rejection, an [*OpenError], and a zero Permit, whose Done
// does nothing.
//
//	p, err := cb.Allow()
//	if err != nil {
//		return err // rejected: fail fast
//	}
//	err = callService(ctx)
//	p.Done(err)
//
// If the work may panic, call Done from a deferred function, with any error
// (a panic is a failure), or its trial slot stays held until the breaker
// next changes state.
//
// Unlike the records of CanExecute, a Permit belongs to the call Allow
// admitted: its Done never frees another call's slot, and a call admitted
// before a change of state is not counted after it. Done also times the call
// for the slow-call rule.
//
// Allow and Done allocate nothing. On the closed path of consecutive mode,
// the pair reads the breaker's state word once each and writes nothing when
// the call succeeds: the cost of a couple of atomic loads (see
// BenchmarkAllow).
func (b *Breaker) Allow() (Permit, error) {
	t, rej := b.admit(false)
	if rej != nil {
		return Permit{}, rej
	}
	return Permit{b: b, t: t}, nil
}

// Permit is a call admitted by [Breaker.Allow]. Its Done records the call's
// outcome; the zero Permit, which Allow returns with a rejection, records
// nothing.
//
// A Permit is a small value, meant to stay in the variable Allow returned it
// to. Copying it does not copy the right to record the call twice: the first
// Done of any copy frees the call's trial slot, and later ones free no slot,
// not even one a later trial holds. A copy made before Done, though, can
// still count the outcome of a call the closed breaker admitted once more,
// so record each call through one variable.
type Permit struct {
	b *Breaker // nil once Done was called, and for a rejected call
	t ticket
}

// Done records the outcome of the call: err is nil for a success, otherwise
// the breaker's Classifier decides how it counts, as for [Breaker.Execute].
// Done frees the call's trial slot if it holds one. It acts once: called
// again, or on the zero Permit, it does nothing. When the Classifier panics,
// Done counts a failure, frees the slot, and the panic goes on.
//
// Done must not be called from two goroutines at once on the same Permit.
func (p *Permit) Done(err error) {
	b := p.b
	if b == nil {
		return
	}
	p.b = nil
	if err == nil && p.t.kind == closedCall && b.consecutive && b.word.Load()&failMask == 0 {
		return // the hot path of finish, inlined here
	}
	b.finishOther(p.t, b.verdictFor(p.t, err))
}

// CanExecute asks the breaker to admit a call, and reports whether the call
// may run. A call it admits must be followed by exactly one RecordSuccess or
// RecordFailure, once the call ends: while half-open, the breaker holds a
// trial slot for it until then, or until the breaker next changes state.
//
// The records carry no ticket: the breaker counts each in the state it is in
// when it arrives, and frees with it a trial slot that CanExecute gave in the
// current half-open period, whenever one is held, even if the recorded call
// was admitted in another state. (It never frees the slot of a call admitted
// by [Breaker.Allow] or run by [Breaker.Execute] or a pipeline: those free
// their own.) Where calls may overlap a change of state, or code paths may
// forget to record, prefer [Breaker.Allow]. Manual records are not timed, so
// the slow-call rule does not see them.
func (b *Breaker) CanExecute() bool {
	_, rej := b.admit(true)
	return rej == nil
}

// CanProceed is another name of CanExecute.
func (b *Breaker) CanProceed() bool { return b.CanExecute() }

// RecordSuccess records that a call admitted by CanExecute succeeded.
func (b *Breaker) RecordSuccess() { b.recordManual(Success) }

// RecordFailure records that a call admitted by CanExecute failed with err.
// The Classifier has its say on err, so the default one ignores
// context.Canceled; a nil err is a failure.
// When the Classifier panics, the call counts as a failure, and the panic
// goes on.
func (b *Breaker) RecordFailure(err error) {
	v := Failure
	if err != nil {
		classified := false
		defer func() {
			if !classified {
				b.recordManual(Failure)
			}
		}()
		v = b.verdict(err)
		classified = true
	}
	b.recordManual(v)
}

func (b *Breaker) recordManual(v Verdict) {
	w := b.word.Load()
	if w&liveMask == closedWord && b.trials.Load() == 0 {
		b.finish(ticket{kind: closedCall, gen: genOf(w)}, v)
		return
	}
	mustBeMade(w)
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
