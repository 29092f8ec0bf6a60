package health_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aragora/resilience/health"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

var errBoom = errors.New("boom")

// newChecker returns a checker named "api" with telemetry off, stopped when
// the test ends.
func newChecker(t *testing.T, cfg health.Config, opts ...health.Option) *health.Checker {
	t.Helper()
	opts = append([]health.Option{
		health.WithTracerProvider(tracenoop.NewTracerProvider()),
		health.WithMeterProvider(metricnoop.NewMeterProvider()),
	}, opts...)
	c, err := health.NewChecker("api", cfg, opts...)
	if err != nil {
		t.Fatalf("NewChecker: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

func mustRegister(t *testing.T, c *health.Checker, name string, fn func(context.Context) error, opts ...health.CheckOption) {
	t.Helper()
	if err := c.Register(name, fn, opts...); err != nil {
		t.Fatalf("Register(%q): %v", name, err)
	}
}

// script is a check whose runs return, in turn, the errors it was given
// (nil: pass), and then keep returning the last.
type script struct {
	mu    sync.Mutex
	errs  []error
	calls int
}

func newScript(errs ...error) *script { return &script{errs: errs} }

func (s *script) check(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if len(s.errs) == 0 {
		return nil
	}
	err := s.errs[0]
	if len(s.errs) > 1 {
		s.errs = s.errs[1:]
	}
	return err
}

func (s *script) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// pass is a check that always passes.
func pass(context.Context) error { return nil }
