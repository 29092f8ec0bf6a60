package health

import (
	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/slo"
)

// BreakerOpen returns what [Checker.RegisterBreaker] reads from b: true while
// b is open, forced open, or half-open. Half-open counts as open because a
// breaker turns half-open by itself once its cooldown passes, before any
// trial call has shown the dependency back; the check passes again when the
// trials close the breaker. A disabled breaker passes. It returns nil for a
// nil b, which RegisterBreaker refuses.
func BreakerOpen(b *breaker.Breaker) func() bool {
	if b == nil {
		return nil
	}
	return func() bool {
		switch b.State() {
		case breaker.Open, breaker.HalfOpen, breaker.ForcedOpen:
			return true
		}
		return false
	}
}

// BulkheadSaturated returns what [Checker.RegisterBulkhead] reads from b:
// true while every permit of b is in use (Stats().InFlight has reached
// Stats().Limit, the adaptive limit if b has one), so that a new call would
// queue or be refused. It returns nil for a nil b, which RegisterBulkhead
// refuses.
func BulkheadSaturated(b *bulkhead.Bulkhead) func() bool {
	if b == nil {
		return nil
	}
	return func() bool {
		s := b.Stats()
		return s.InFlight >= s.Limit
	}
}

// SLOPaging returns what [Checker.RegisterSLO] reads from m: true while one
// of m's indicators has a page-level burn-rate alert ([slo.AlertPage]). Each
// read takes a Snapshot, which brings m's alerts up to date even without
// traffic. A ticket-level alert passes: it asks for a look, not for action.
// It returns nil for a nil m, which RegisterSLO refuses.
func SLOPaging(m *slo.Monitor) func() bool {
	if m == nil {
		return nil
	}
	return func() bool { return m.Snapshot().Alert >= slo.AlertPage }
}
