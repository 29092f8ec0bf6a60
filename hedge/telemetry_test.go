package hedge_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/hedge"
	"github.com/aragora/resilience/internal/oteltest"
	"github.com/aragora/resilience/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func attrs(kvs []attribute.KeyValue) map[attribute.Key]any {
	m := map[attribute.Key]any{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.AsInterface()
	}
	return m
}

func TestEachHedgedAttemptIsAnAttemptSpanAndAHedgeEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spans := tracetest.NewSpanRecorder()
		reader := sdkmetric.NewManualReader()
		// The default budget allows one hedge in flight: the second is refused.
		h := mustNew(t, hedge.WithDelay(100*time.Millisecond), hedge.WithMaxHedges(2), hedge.WithName("search-hedge"))
		p := policy.MustNew("search", h).With(
			policy.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))),
			policy.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))

		v, err := policy.Get(context.Background(), p, sleepy(time.Hour, 150*time.Millisecond))
		require.NoError(t, err)
		assert.Equal(t, 2, v)

		var exec map[attribute.Key]any
		var events []string
		attempts := map[int64]map[attribute.Key]any{}
		for _, s := range spans.Ended() {
			switch s.Name() {
			case "search execute":
				exec = attrs(s.Attributes())
				for _, e := range s.Events() {
					a := attrs(e.Attributes)
					events = append(events, e.Name+" "+a[policy.AttrPolicy].(string))
					if e.Name == "hedge" {
						assert.Equal(t, int64(2), a[policy.AttrAttempt])
						assert.Equal(t, 0.1, a[policy.AttrDelay])
						assert.Equal(t, "delay", a[policy.AttrReason])
					}
				}
			case "search attempt":
				a := attrs(s.Attributes())
				attempts[a[policy.AttrAttempt].(int64)] = a
			}
		}
		require.NotNil(t, exec)
		assert.Equal(t, "success", exec[policy.AttrOutcome])
		assert.Equal(t, int64(2), exec[policy.AttrAttempts])
		assert.Equal(t, []string{"hedge search-hedge", "hedge.budget_exhausted search-hedge"}, events)
		require.Len(t, attempts, 2)
		assert.Nil(t, attempts[1][policy.AttrHedge], "the first attempt is not a hedge")
		assert.Equal(t, "hedge_lost", attempts[1][policy.AttrErrorType], "the loser says why it ended")
		assert.Equal(t, true, attempts[2][policy.AttrHedge])
		assert.Equal(t, "success", attempts[2][policy.AttrOutcome])

		counts := oteltest.Int64s(t, reader, policy.MetricEvents, "policy", "event")
		assert.Equal(t, map[string]int64{"search-hedge hedge": 1, "search-hedge hedge.budget_exhausted": 1}, counts)
	})
}

// A hedge inside the hedged branch of another: the inner hedge's first
// attempt is still a hedged one, and its span says so.
func TestAttemptsOfAHedgedBranchAreHedgedInANestedHedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spans := tracetest.NewSpanRecorder()
		outer := mustNew(t, hedge.WithDelay(100*time.Millisecond), hedge.WithName("outer"), roomy(t))
		inner := mustNew(t, hedge.WithDelay(time.Hour), hedge.WithName("inner"), roomy(t))
		p := policy.MustNew("nested", outer, inner).With(
			policy.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))))
		v, err := policy.Get(context.Background(), p, sleepy(time.Hour, 10*time.Millisecond))
		require.NoError(t, err)
		assert.Equal(t, 2, v)
		hedged := map[int64]any{}
		for _, s := range spans.Ended() {
			if s.Name() == "nested attempt" {
				a := attrs(s.Attributes())
				hedged[a[policy.AttrAttempt].(int64)] = a[policy.AttrHedge]
			}
		}
		assert.Equal(t, map[int64]any{1: nil, 2: true}, hedged)
	})
}

// refusesSecond is a policy inside the hedge that refuses the second branch
// it sees, as a full bulkhead or an open breaker would.
type refusesSecond struct{ runs atomic.Int32 }

func (r *refusesSecond) Run(ctx context.Context, ex policy.Execution) error {
	if r.runs.Add(1) == 2 {
		return policy.ErrRejected
	}
	return ex.Next(ctx)
}

// A hedged branch that an inner policy refused made no attempt: the
// execution span counts the attempts made, not the numbers reserved.
func TestAHedgeRefusedInsideIsNotCountedAsAnAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spans := tracetest.NewSpanRecorder()
		h := mustNew(t, hedge.WithDelay(100*time.Millisecond), roomy(t))
		p := policy.MustNew("refused", h, &refusesSecond{}).With(
			policy.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))))
		err := p.Execute(context.Background(), func(context.Context) error {
			time.Sleep(150 * time.Millisecond)
			return nil
		})
		require.NoError(t, err)
		var attempts int
		var exec map[attribute.Key]any
		for _, s := range spans.Ended() {
			switch s.Name() {
			case "refused attempt":
				attempts++
			case "refused execute":
				exec = attrs(s.Attributes())
			}
		}
		assert.Equal(t, 1, attempts)
		require.NotNil(t, exec)
		assert.Equal(t, int64(1), exec[policy.AttrAttempts], "the refused hedge made no attempt")
	})
}
