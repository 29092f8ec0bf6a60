package health_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/health"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/slo"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
)

func TestABreakerCheckFollowsTheBreaker(t *testing.T) {
	tests := []struct {
		name     string
		opts     []health.CheckOption
		whenOpen health.Status
	}{
		{"not critical by default: degraded", nil, health.Degraded},
		{"critical: unhealthy", []health.CheckOption{health.WithCritical(true)}, health.Unhealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b, err := breaker.New("payments", breaker.Config{FailureThreshold: 2, Cooldown: time.Minute, SuccessThreshold: 1},
					breaker.WithMeterProvider(metricnoop.NewMeterProvider()))
				if err != nil {
					t.Fatal(err)
				}
				c := newChecker(t, health.Config{})
				if err := c.RegisterBreaker("payments", health.BreakerOpen(b), tt.opts...); err != nil {
					t.Fatal(err)
				}
				status := func() health.Status {
					t.Helper()
					r := c.CheckAll(context.Background())
					if r.Status != r.Checks["payments"].Status {
						t.Errorf("overall %v, check %v", r.Status, r.Checks["payments"].Status)
					}
					return r.Checks["payments"].Status
				}
				fail := func(context.Context) error { return errBoom }
				ok := func(context.Context) error { return nil }

				if s := status(); s != health.Healthy {
					t.Fatalf("closed: %v", s)
				}
				_ = b.Execute(context.Background(), fail)
				_ = b.Execute(context.Background(), fail)
				if b.State() != breaker.Open {
					t.Fatalf("breaker %v, want open", b.State())
				}
				if s := status(); s != tt.whenOpen { // at once: the threshold is 1
					t.Errorf("open: %v, want %v", s, tt.whenOpen)
				}
				if errors.Is(c.Report().Checks["payments"].LastError, health.ErrBreakerOpen) != true {
					t.Errorf("LastError = %v, want ErrBreakerOpen", c.Report().Checks["payments"].LastError)
				}
				time.Sleep(time.Minute)
				if s := status(); b.State() != breaker.HalfOpen || s != tt.whenOpen {
					t.Errorf("%v breaker: %v, want %v until a trial closes it", b.State(), s, tt.whenOpen)
				}
				_ = b.Execute(context.Background(), ok)
				if s := status(); b.State() != breaker.Closed || s != health.Healthy {
					t.Errorf("%v breaker: %v, want healthy", b.State(), s)
				}
				b.ForceOpen()
				if s := status(); s != tt.whenOpen {
					t.Errorf("forced open: %v, want %v", s, tt.whenOpen)
				}
				b.Disable()
				if s := status(); s != health.Healthy {
					t.Errorf("disabled: %v, want healthy", s)
				}
			})
		})
	}
}

func TestABulkheadCheckDegradesWhenSaturated(t *testing.T) {
	b, err := bulkhead.New("search", bulkhead.Config{MaxConcurrent: 2}, bulkhead.WithMeterProvider(metricnoop.NewMeterProvider()))
	if err != nil {
		t.Fatal(err)
	}
	c := newChecker(t, health.Config{})
	// Even registered critical, saturation only degrades.
	if err := c.RegisterBulkhead("search", health.BulkheadSaturated(b), health.WithCritical(true)); err != nil {
		t.Fatal(err)
	}
	if s := c.CheckAll(context.Background()).Status; s != health.Healthy {
		t.Fatalf("idle: %v", s)
	}
	b.TryAcquire()
	if s := c.CheckAll(context.Background()).Status; s != health.Healthy {
		t.Fatalf("half full: %v", s)
	}
	b.TryAcquire()
	var got []health.Status
	for range 3 { // the checker's threshold: saturation seen three times in a row
		got = append(got, c.CheckAll(context.Background()).Status)
	}
	if want := []health.Status{health.Healthy, health.Healthy, health.Degraded}; !slices.Equal(got, want) {
		t.Errorf("saturated: %v, want %v", got, want)
	}
	if err := c.Report().Checks["search"].LastError; !errors.Is(err, health.ErrBulkheadSaturated) || !errors.Is(err, health.ErrDegraded) {
		t.Errorf("LastError = %v, want ErrBulkheadSaturated, an ErrDegraded", err)
	}
	b.Release()
	if s := c.CheckAll(context.Background()).Status; s != health.Healthy {
		t.Errorf("a permit free again: %v", s)
	}
	b.Release()
}

func TestAnSLOCheckDegradesOnAPageAlert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := slo.New("checkout", slo.Objective{}, slo.WithMeterProvider(metricnoop.NewMeterProvider()))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		c := newChecker(t, health.Config{})
		if err := c.RegisterSLO("checkout", health.SLOPaging(m), health.WithCritical(true)); err != nil {
			t.Fatal(err)
		}
		for range 100 {
			m.Record(policy.Success, time.Millisecond)
		}
		if s := c.CheckAll(context.Background()).Status; s != health.Healthy {
			t.Fatalf("within budget: %v", s)
		}
		for range 100 {
			m.Record(policy.Failure, time.Millisecond)
		}
		if m.Snapshot().Alert != slo.AlertPage {
			t.Fatalf("monitor alert %v, want page", m.Snapshot().Alert)
		}
		if s := c.CheckAll(context.Background()).Status; s != health.Degraded { // at once, and only degraded
			t.Errorf("paging: %v, want degraded", s)
		}
		if err := c.Report().Checks["checkout"].LastError; !errors.Is(err, health.ErrSLOPageAlert) {
			t.Errorf("LastError = %v, want ErrSLOPageAlert", err)
		}
		time.Sleep(time.Hour) // the short windows clear, and the page with them
		if a := m.Snapshot().Alert; a == slo.AlertPage {
			t.Fatalf("monitor still paging an hour later")
		}
		if s := c.CheckAll(context.Background()).Status; s != health.Healthy {
			t.Errorf("no longer paging: %v, want healthy", s)
		}
	})
}

func TestStateChecksFollowAnyFunction(t *testing.T) {
	var open, saturated, paging atomic.Bool
	c := newChecker(t, health.Config{})
	for _, err := range []error{
		c.RegisterBreaker("breaker", open.Load),
		c.RegisterBulkhead("bulkhead", saturated.Load, health.WithFailureThreshold(1)),
		c.RegisterSLO("slo", paging.Load),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name                        string
		open, saturated, paging     bool
		breaker, bulkhead, sloCheck health.Status
	}{
		{"all clear", false, false, false, health.Healthy, health.Healthy, health.Healthy},
		{"breaker open", true, false, false, health.Degraded, health.Healthy, health.Healthy},
		{"all failing", true, true, true, health.Degraded, health.Degraded, health.Degraded},
		{"cleared again", false, false, false, health.Healthy, health.Healthy, health.Healthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open.Store(tt.open)
			saturated.Store(tt.saturated)
			paging.Store(tt.paging)
			r := c.CheckAll(context.Background())
			got := []health.Status{r.Checks["breaker"].Status, r.Checks["bulkhead"].Status, r.Checks["slo"].Status}
			if want := []health.Status{tt.breaker, tt.bulkhead, tt.sloCheck}; !slices.Equal(got, want) {
				t.Errorf("breaker, bulkhead, slo = %v, want %v", got, want)
			}
		})
	}
}

func TestStateChecksRefuseNilSources(t *testing.T) {
	c := newChecker(t, health.Config{})
	tests := []struct {
		name string
		err  error
	}{
		{"breaker", c.RegisterBreaker("a", health.BreakerOpen(nil))},
		{"bulkhead", c.RegisterBulkhead("b", health.BulkheadSaturated(nil))},
		{"slo", c.RegisterSLO("c", health.SLOPaging(nil))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil || !strings.Contains(tt.err.Error(), "nil") {
				t.Errorf("err = %v, want one about a nil source", tt.err)
			}
			if !errors.Is(tt.err, health.ErrInvalidConfig) {
				t.Errorf("err = %v, want one matching ErrInvalidConfig", tt.err)
			}
		})
	}
	if len(c.Report().Checks) != 0 {
		t.Errorf("checks registered: %v", c.Report().Checks)
	}
}
