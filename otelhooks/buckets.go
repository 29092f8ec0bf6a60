package otelhooks

import (
	"fmt"
	"slices"
	"time"

	"github.com/aragora/resilience/policy"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// defaultDurationBuckets are the boundaries, in seconds, that the policy
// package gives its duration histograms (a test holds the two equal).
var defaultDurationBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
}

// DurationBoundaries returns the bucket boundaries, in seconds and in
// increasing order, of the policy package's resilience.execution.duration and
// resilience.attempt.duration histograms with bounds added to the defaults
// (100µs to a minute). A histogram can only tell the calls faster than one
// of its boundaries from the slower ones, so a latency objective's threshold
// must be one: these are the boundaries that [WithLatencyBoundaries] and
// [DurationViews] give the histograms, for whatever computes objectives from
// them. Zero bounds are ignored, so that objectives without a latency
// threshold can be passed as they are; a negative one is an error.
func DurationBoundaries(bounds ...time.Duration) ([]float64, error) {
	out := slices.Clone(defaultDurationBuckets)
	for _, d := range bounds {
		if d < 0 {
			return nil, fmt.Errorf("otelhooks: latency boundary %v is negative", d)
		}
		if d > 0 {
			out = append(out, d.Seconds())
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// DurationViews returns the views that give the policy package's duration
// histograms the boundaries of [DurationBoundaries](bounds...), for a meter
// provider of the caller's; [WithLatencyBoundaries] adds them to Setup's.
func DurationViews(bounds ...time.Duration) ([]sdkmetric.View, error) {
	boundaries, err := DurationBoundaries(bounds...)
	if err != nil {
		return nil, err
	}
	scope := instrumentation.Scope{Name: policy.ScopeName}
	views := make([]sdkmetric.View, 0, 2)
	for _, name := range [...]string{policy.MetricExecutionDuration, policy.MetricAttemptDuration} {
		views = append(views, sdkmetric.NewView(
			sdkmetric.Instrument{Name: name, Scope: scope},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: boundaries}}))
	}
	return views, nil
}

// WithLatencyBoundaries adds bounds to the bucket boundaries of the
// resilience.execution.duration and resilience.attempt.duration histograms
// (see [DurationBoundaries]): pass the latency thresholds of the service's
// objectives, so that Prometheus can count the calls within each from the
// histogram's buckets. Zero bounds are ignored; a negative one fails Setup.
// Several options add up.
func WithLatencyBoundaries(bounds ...time.Duration) Option {
	return optionFunc(func(c *setupConfig) { c.latencyBounds = append(c.latencyBounds, bounds...) })
}
