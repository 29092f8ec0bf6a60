package adapter_test

import (
	"testing"

	"github.com/aragora/resilience/adapter"
	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/bulkhead"
)

// newAdapter builds an adapter on registries of its own, so that tests share
// no breaker or bulkhead through the default ones.
func newAdapter(t *testing.T, cfg adapter.Config, opts ...adapter.Option) *adapter.Resilient {
	t.Helper()
	if cfg.BreakerRegistry == nil {
		cfg.BreakerRegistry = new(breaker.Registry)
	}
	if cfg.BulkheadRegistry == nil {
		cfg.BulkheadRegistry = new(bulkhead.Registry)
	}
	r, err := adapter.New(cfg, opts...)
	if err != nil {
		t.Fatalf("adapter.New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// sloCalls returns the calls and bad calls the adapter's SLO saw over its
// shortest window.
func sloCalls(r *adapter.Resilient) (calls, bad float64) {
	w := r.SLO().Snapshot().Availability.Windows[0]
	return w.Calls, w.Bad
}
