// Package inflight is Envoy's concurrency budget, the one mechanism behind
// retry's ConcurrencyBudget and hedge's Budget: extra work in flight
// (retries, hedged attempts) may not exceed a share of the executions in
// flight, with a floor for quiet times. The policies validate their own
// parameters, so that each error names its own package and fields.
package inflight

import "sync/atomic"

// Share counts executions and the extra work in flight among them. It is
// safe for concurrent use.
type Share struct {
	executions atomic.Int64
	extra      atomic.Int64
	percent    float64
	min        int64
}

// New returns a share of percent (in [0, 100]) of the executions in flight,
// and at least min (0 or more). The caller has checked both.
func New(percent float64, min int) *Share {
	return &Share{percent: percent, min: int64(min)}
}

// Begin counts an execution in flight; End, its end.
func (s *Share) Begin() { s.executions.Add(1) }

// End ends what Begin counted.
func (s *Share) End() { s.executions.Add(-1) }

// Acquire takes a unit of extra work when the share allows it at this
// moment, and reports whether it did. Two callers racing for the last unit
// cannot both have it, and neither is refused for the other's attempt.
func (s *Share) Acquire() bool {
	for {
		n := s.extra.Load()
		limit := max(s.min, int64(float64(s.executions.Load())*s.percent/100))
		if n >= limit {
			return false
		}
		if s.extra.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release gives back a unit that Acquire took.
func (s *Share) Release() { s.extra.Add(-1) }

// InFlight returns the executions and the extra work in flight.
func (s *Share) InFlight() (executions, extra int) {
	return int(s.executions.Load()), int(s.extra.Load())
}
