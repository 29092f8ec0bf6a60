package slo_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/slo"
)

func ExampleNew() {
	m, err := slo.New("search", slo.Objective{Availability: 0.999})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	m.OnAlertChange(func(c slo.AlertChange) {
		fmt.Printf("%s %s alert: %s -> %s\n", c.SLO, c.Indicator, c.From, c.To)
	})

	// 10 calls of 1000 fail: 1%, ten times what a 99.9% objective allows.
	for i := range 1000 {
		outcome := policy.Success
		if i < 10 {
			outcome = policy.Failure
		}
		m.Record(outcome, 20*time.Millisecond)
	}

	s := m.Snapshot()
	burn, _ := s.Availability.BurnRate(time.Hour)
	fmt.Printf("SLI %.3f, burn rate over 1h %.1f, budget remaining %.1f\n",
		s.Availability.SLI, burn, s.Availability.ErrorBudgetRemaining)
	// Output:
	// search availability alert: none -> page
	// SLI 0.990, burn rate over 1h 10.0, budget remaining -9.0
}

func ExampleMonitor_Run() {
	m, err := slo.New("inventory", slo.Objective{Availability: 0.99, Latency: 300 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	// The monitor observes every execution of the pipeline.
	p := policy.MustNew("inventory", m)

	for i := range 20 {
		_ = p.Execute(context.Background(), func(context.Context) error {
			if i == 0 {
				return errors.New("connection reset")
			}
			return nil
		})
	}

	s := m.Snapshot()
	fmt.Printf("availability %.2f (target %.2f), alert %s\n", s.Availability.SLI, s.Availability.Target, s.Availability.Alert)
	fmt.Printf("latency %.2f within %v (target %.2f)\n", s.Latency.SLI, s.Latency.Threshold, s.Latency.Target)
	// Output:
	// availability 0.95 (target 0.99), alert ticket
	// latency 1.00 within 300ms (target 0.99)
}
