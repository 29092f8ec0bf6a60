package benchfloor

import (
	"context"
	"time"

	"github.com/aragora/resilience/policy"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Pass is a policy that only runs the rest of the pipeline: the floor of a
// pipeline holding one policy.
type Pass struct{}

// Run runs the rest of the pipeline.
func (Pass) Run(ctx context.Context, ex policy.Execution) error { return ex.Next(ctx) }

// Clock is a policy that reads the clock once and runs the rest of the
// pipeline: the floor of a policy that times its calls, since on machines
// whose clock is slow to read that read is most of such a policy's cost.
type Clock struct{ epoch time.Time }

// NewClock returns a Clock.
func NewClock() Clock { return Clock{epoch: time.Now()} }

// Run reads the clock, then runs the rest of the pipeline.
func (c Clock) Run(ctx context.Context, ex policy.Execution) error {
	if time.Since(c.epoch) < 0 {
		return nil
	}
	return ex.Next(ctx)
}

// Off returns a pipeline of policies named "bench" whose telemetry is off
// (no-op providers), so that it records nothing and reads no clock of its
// own. It panics when policy.New fails, as a benchmark's setup may.
func Off(policies ...policy.Policy) *policy.Pipeline {
	return policy.MustNew("bench", policies...).With(
		policy.WithTracerProvider(tracenoop.NewTracerProvider()),
		policy.WithMeterProvider(metricnoop.NewMeterProvider()))
}
