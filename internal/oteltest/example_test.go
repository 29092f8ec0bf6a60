package oteltest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aragora/resilience/internal/oteltest"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
)

// A test runs a pipeline on a Recorder's providers and reads back the events
// of its execution span; EventCounts and Int64s read its counters the same
// way, given the test's *testing.T.
func ExampleRecorder() {
	rec := oteltest.NewRecorder()
	r, _ := retry.New(retry.Config{MaxRetries: 1, BaseDelay: time.Millisecond})
	p := policy.MustNew("api", r).With(policy.WithTracerProvider(rec.TP), policy.WithMeterProvider(rec.MP))

	calls := 0
	_ = p.Execute(context.Background(), func(context.Context) error {
		if calls++; calls == 1 {
			return fmt.Errorf("api: unavailable")
		}
		return nil
	})

	for _, e := range rec.Events("api execute") {
		fmt.Println("event:", e.Name, e.Attrs[policy.AttrAttempt].AsInt64())
	}
	// Output:
	// event: retry 2
}
