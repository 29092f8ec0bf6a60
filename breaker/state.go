package breaker

import "time"

// State is the state of a [Breaker].
type State uint8

// The states of a breaker. Closed, Open and HalfOpen are the states of the
// automaton; ForcedOpen and Disabled are operator states, entered only by
// [Breaker.ForceOpen] and [Breaker.Disable] and left only by [Breaker.Reset].
const (
	// Closed lets calls through and counts their failures.
	Closed State = iota
	// Open rejects calls with an error matching ErrOpen until its cooldown
	// has passed.
	Open
	// HalfOpen lets a limited number of trial calls through: enough
	// successes close the breaker, one failure opens it again.
	HalfOpen
	// ForcedOpen rejects every call, with an error matching ErrOpen, until
	// Reset. Nothing is counted and the cooldown does not apply.
	ForcedOpen
	// Disabled lets every call through and counts nothing, until Reset.
	Disabled
	numStates
)

var stateNames = [numStates]string{"closed", "open", "half-open", "forced-open", "disabled"}

// String returns "closed", "open", "half-open", "forced-open" or "disabled":
// the value of the state attribute of the resilience.breaker.state gauge and
// of the From and To of state change events.
func (s State) String() string {
	if s >= numStates {
		return "unknown"
	}
	return stateNames[s]
}

// MarshalText encodes s as its String, so that a [Status] marshals to JSON
// as {"State":"open",…} for health endpoints and logs.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Counts are a breaker's tallies for the state it is in. They start again from
// zero at every change of state; a [StateChange] carries them as they were
// just before the change.
type Counts struct {
	// Failures are, while closed, the consecutive failures (consecutive mode)
	// or the failures in the window (sliding-window mode); while half-open,
	// the trial calls that failed.
	Failures int
	// Successes are the trial calls that succeeded while half-open; 0 in
	// the other states (the successes in a window are Calls − Failures).
	Successes int
	// Calls are the calls in the window: sliding-window mode only.
	Calls int
	// SlowCalls are the calls in the window that took at least the window's
	// SlowCallDuration: sliding-window mode only.
	SlowCalls int
}

// StateChange is what a breaker's listeners receive when it changes state.
type StateChange struct {
	Name     string // the breaker's name
	From, To State
	Counts   // the tallies that led to the change
}

// Status is a snapshot of a breaker, for health endpoints and debugging.
type Status struct {
	Name  string
	State State // as State returns it
	Counts
	// FailureRate and SlowCallRate are the rates of failed and slow calls in
	// the window, from 0 to 1; always 0 in consecutive mode and while the
	// window holds no call.
	FailureRate  float64
	SlowCallRate float64
	// Trials are the trial calls in flight: at most the HalfOpenMaxRequests.
	Trials int
	// Trips are the times the breaker has opened without closing in between,
	// which the cooldown grows with; 0 once it closes.
	Trips int
	// OpenedAt is when the breaker last opened, while it is open or
	// half-open; zero otherwise.
	OpenedAt time.Time
	// NextTrial is when an open breaker admits its next trial call; zero in
	// the other states.
	NextTrial time.Time
}

// State returns the breaker's state. An open breaker whose cooldown has
// passed is half-open: it reports HalfOpen, and its listeners hear of the
// change when the next call arrives.
func (b *Breaker) State() State {
	w := b.word.Load()
	mustBeMade(w)
	if s := stateOf(w); s != Open || b.now() < b.openErr.Load().trialAt {
		return s
	}
	return HalfOpen
}

// Failures returns the failures counted in the current state: see
// [Counts.Failures].
func (b *Breaker) Failures() int {
	if b.s.window == nil {
		if w := b.word.Load(); w&liveMask == closedWord {
			return failsOf(w)
		}
	}
	return b.Status().Failures
}

// Status returns a snapshot of the breaker's state and counts.
func (b *Breaker) Status() Status {
	mustBeMade(b.word.Load())
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.word.Load()
	b.win.advance(now)
	st := Status{
		Name:   b.name,
		State:  stateOf(w),
		Counts: b.countsAt(w),
		Trials: int(b.trials.Load()),
		Trips:  b.trips,
	}
	switch st.State {
	case Open:
		st.OpenedAt = b.timeAt(b.openedAt)
		if e := b.openErr.Load(); now < e.trialAt {
			st.NextTrial = e.NextTrial
		} else {
			st.State = HalfOpen
		}
	case HalfOpen:
		st.OpenedAt = b.timeAt(b.openedAt)
	case Closed:
		if st.Calls > 0 {
			st.FailureRate = float64(st.Failures) / float64(st.Calls)
			st.SlowCallRate = float64(st.SlowCalls) / float64(st.Calls)
		}
	}
	return st
}
