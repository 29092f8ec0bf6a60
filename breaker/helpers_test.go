package breaker_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aragora/resilience/breaker"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
)

var errBoom = errors.New("boom")

func fail(context.Context) error    { return errBoom }
func succeed(context.Context) error { return nil }

// newBreaker returns a breaker named after the test, observed by no gauge.
func newBreaker(t testing.TB, cfg breaker.Config) *breaker.Breaker {
	t.Helper()
	b, err := breaker.New(t.Name(), cfg, breaker.WithMeterProvider(metricnoop.NewMeterProvider()))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// call runs fn through b and reports whether b admitted it.
func call(t testing.TB, b *breaker.Breaker, fn func(context.Context) error) (admitted bool) {
	t.Helper()
	ran := false
	err := b.Execute(context.Background(), func(ctx context.Context) error {
		ran = true
		return fn(ctx)
	})
	if !ran && !errors.Is(err, breaker.ErrOpen) && !errors.Is(err, breaker.ErrHalfOpenFull) {
		t.Fatalf("call not run, and its error %v is no rejection", err)
	}
	return ran
}

// trip opens b with failures, as many as its consecutive threshold.
func trip(t testing.TB, b *breaker.Breaker, threshold int) {
	t.Helper()
	for range threshold {
		call(t, b, fail)
	}
	if got := b.State(); got != breaker.Open {
		t.Fatalf("after %d failures: state %v, want open", threshold, got)
	}
}

func wantState(t testing.TB, b *breaker.Breaker, want breaker.State) {
	t.Helper()
	if got := b.State(); got != want {
		t.Fatalf("state %v, want %v", got, want)
	}
}

// openError returns the rejection b gives a call now.
func openError(t testing.TB, b *breaker.Breaker) *breaker.OpenError {
	t.Helper()
	err := b.Execute(context.Background(), func(context.Context) error {
		t.Fatalf("the call ran; want it rejected")
		return nil
	})
	var oe *breaker.OpenError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v (%T), want an *OpenError", err, err)
	}
	return oe
}

// hold starts a call through b that runs until the returned release is
// called with its outcome, and reports whether b admitted it.
func hold(t testing.TB, b *breaker.Breaker) (release func(error), admitted bool) {
	t.Helper()
	permit, err := b.Allow()
	if err != nil {
		return func(error) {}, false
	}
	return permit.Done, true
}
