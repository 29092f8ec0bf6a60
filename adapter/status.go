package adapter

import (
	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/slo"
)

// Status is an adapter's resilience state at one moment, in one value for a
// health endpoint.
type Status struct {
	Adapter string // Config.Name

	// Unset reports that the *Resilient is nil, never built with [New]:
	// the adapter cannot call its backend, and the other fields are zero.
	Unset bool

	// Healthy reports whether the adapter can serve: its breaker admits
	// calls (closed or disabled) and its SLO is not paging. A full bulkhead
	// does not make it unhealthy: refusing the excess is the bulkhead's job,
	// and its figures are below. For finer rules, register the adapter's
	// parts with the health package (health.BreakerOpen(a.Breaker()), ...).
	Healthy bool

	Breaker  breaker.Status // state, counts and next trial
	Bulkhead bulkhead.Stats // permits in use, queue, refusals
	SLO      slo.Snapshot   // SLI, error budget, burn rates and alerts
}

// Status returns the adapter's status. Reading it takes an SLO snapshot,
// which brings the SLO's alerts up to date. On a nil *Resilient (an adapter
// whose embedded *Resilient was never built with [New]) it returns a Status with Unset
// true and Healthy false.
func (r *Resilient) Status() Status {
	if r == nil {
		return Status{Unset: true}
	}
	s := Status{
		Adapter:  r.name,
		Breaker:  r.br.Status(),
		Bulkhead: r.bh.Stats(),
		SLO:      r.mon.Snapshot(),
	}
	admits := s.Breaker.State == breaker.Closed || s.Breaker.State == breaker.Disabled
	s.Healthy = admits && s.SLO.Alert < slo.AlertPage
	return s
}
