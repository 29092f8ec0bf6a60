package adapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aragora/resilience/adapter"
	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/slo"
)

func TestStatusGathersThePartsForAHealthCheck(t *testing.T) {
	r := newAdapter(t, adapter.Config{Name: "kb", BulkheadConfig: bulkhead.Config{MaxConcurrent: 3}})
	_ = r.ResilientCall(t.Context(), "get", func(context.Context) error { return nil })

	s := r.Status()
	if s.Adapter != "kb" || !s.Healthy {
		t.Errorf("status %q healthy=%v; want kb, healthy", s.Adapter, s.Healthy)
	}
	if s.Breaker.State != breaker.Closed || s.Bulkhead.Limit != 3 || s.SLO.SLO != "kb" || s.SLO.Availability.Windows[0].Calls != 1 {
		t.Errorf("status %+v; want a closed breaker, a limit of 3 and one call in the SLO", s)
	}
	if _, err := json.Marshal(s); err != nil {
		t.Errorf("status does not encode as JSON: %v", err)
	}
}

func TestStatusIsUnhealthyWhenTheBreakerRejectsOrTheSLOPages(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*adapter.Resilient)
		alert slo.Alert
	}{
		{"breaker forced open", func(r *adapter.Resilient) { r.Breaker().ForceOpen() }, slo.AlertNone},
		{"breaker open", func(r *adapter.Resilient) {
			_ = r.ResilientCall(context.Background(), "put", func(context.Context) error { return errors.New("down") })
		}, slo.AlertPage},
		{"SLO paging with the breaker closed", func(r *adapter.Resilient) {
			r.SLO().Record(policy.Success, 0)
			r.SLO().Record(policy.Failure, 0) // 50% errors
		}, slo.AlertPage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newAdapter(t, adapter.Config{Name: "kb", BreakerConfig: breaker.Config{FailureThreshold: 1}})
			tt.setup(r)
			s := r.Status()
			if s.Healthy {
				t.Errorf("status healthy with breaker %v and SLO alert %v", s.Breaker.State, s.SLO.Alert)
			}
			if s.SLO.Alert != tt.alert {
				t.Errorf("SLO alert %v, want %v", s.SLO.Alert, tt.alert)
			}
		})
	}
}

func TestAFullBulkheadIsNotUnhealthy(t *testing.T) {
	r := newAdapter(t, adapter.Config{Name: "kb", BulkheadConfig: bulkhead.Config{MaxConcurrent: 1}})
	for range 200 { // so that one refusal (a burn of 5) does not burn the budget fast enough to page
		_ = r.ResilientCall(t.Context(), "get", func(context.Context) error { return nil })
	}
	r.Bulkhead().TryAcquire()
	defer r.Bulkhead().Release()
	_ = r.ResilientCall(t.Context(), "get", func(context.Context) error { return nil })
	if s := r.Status(); !s.Healthy || s.Bulkhead.Rejected != 1 {
		t.Errorf("status healthy=%v with %d refusals; want healthy, 1 refusal", s.Healthy, s.Bulkhead.Rejected)
	}
}
