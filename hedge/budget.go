package hedge

import (
	"fmt"

	"github.com/aragora/resilience/internal/inflight"
)

// Budget bounds the hedged attempts of many executions together, so that
// hedging cannot double the load on a dependency that is slow for everyone:
// hedged attempts in flight may not exceed a share of the executions in
// flight, with a floor for quiet times. It is Envoy's retry budget applied to
// hedges. Share one between the hedges that call the same dependency with
// [WithBudget]. A Budget is safe for concurrent use.
type Budget struct {
	share *inflight.Share // executions running through the hedges that share it, and their hedged attempts
}

// DefaultBudgetPercent and DefaultBudgetMin are the budget of a [Hedge] built
// without [WithBudget]: hedged attempts in flight up to 10% of its executions
// in flight, and at least 1.
const (
	DefaultBudgetPercent = 10
	DefaultBudgetMin     = 1
)

// NewBudget returns a budget that allows hedged attempts in flight up to
// percent of the executions in flight, and at least minHedges. percent must
// be in [0, 100] and minHedges 0 or more, not both zero.
func NewBudget(percent float64, minHedges int) (*Budget, error) {
	if !(percent >= 0 && percent <= 100) {
		return nil, fmt.Errorf("hedge: budget percent is %v; want a number in [0, 100]", percent)
	}
	if minHedges < 0 {
		return nil, fmt.Errorf("hedge: budget minHedges is %d; want 0 or more", minHedges)
	}
	if percent == 0 && minHedges == 0 {
		return nil, fmt.Errorf("hedge: budget percent and minHedges are both zero, which allows no hedge")
	}
	return &Budget{share: inflight.New(percent, minHedges)}, nil
}

// InFlight returns the executions and the hedged attempts in flight.
func (b *Budget) InFlight() (executions, hedges int) { return b.share.InFlight() }

func (b *Budget) begin() { b.share.Begin() }
func (b *Budget) end()   { b.share.End() }

// acquire takes a share for one hedged attempt, when one is free.
func (b *Budget) acquire() bool { return b.share.Acquire() }

func (b *Budget) release() { b.share.Release() }
