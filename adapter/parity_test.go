package adapter_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/aragora/resilience/adapter"
	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/slo"
	"github.com/aragora/resilience/timeout"
)

// While the breaker sheds every call, every caller fails: the SLO counts
// each refused call as bad, so its page holds instead of clearing as the
// short windows empty.
func TestRejectionsBurnTheBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newAdapter(t, adapter.Config{
			Name:          "kb",
			BreakerConfig: breaker.Config{FailureThreshold: 5, Cooldown: time.Hour},
		})
		for range 5 {
			_ = r.ResilientCall(t.Context(), "get", func(context.Context) error { return errBackend })
		}
		require.Equal(t, slo.AlertPage, r.SLO().Snapshot().Alert, "after 5 failures")
		rejected := 0
		for range 2400 { // forty minutes of one call a second, all refused by the open breaker
			err := r.ResilientCall(t.Context(), "get", func(context.Context) error { return nil })
			if errors.Is(err, breaker.ErrOpen) {
				rejected++
			}
			time.Sleep(time.Second)
		}
		require.Equal(t, 2400, rejected)
		s := r.SLO().Snapshot()
		w5m := s.Availability.Windows[0]
		assert.GreaterOrEqual(t, w5m.Calls, 290.0, "calls in the 5m window")
		assert.Equal(t, w5m.Calls, w5m.Bad, "every call in the 5m window is bad")
		assert.Equal(t, slo.AlertPage, s.Alert)
		assert.False(t, r.Status().Healthy)
	})
}

// A call the bulkhead refuses after a wait in its queue is a bad call, and
// the latency the SLO judges runs from the call's entry, queue wait
// included.
func TestQueueWaitCountsInTheSLO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newAdapter(t, adapter.Config{
			Name:           "kb",
			BulkheadConfig: bulkhead.Config{MaxConcurrent: 1, MaxQueue: 2, MaxWait: 3 * time.Second},
			Objective:      slo.Objective{Latency: 500 * time.Millisecond},
		})
		hold := func(d time.Duration) func(context.Context) error {
			return func(context.Context) error { time.Sleep(d); return nil }
		}
		errs := make(chan error, 2)
		go func() { errs <- r.ResilientCall(t.Context(), "get", hold(time.Second)) }()
		synctest.Wait()
		go func() { errs <- r.ResilientCall(t.Context(), "get", hold(0)) }() // waits 1s, runs at once
		synctest.Wait()
		require.NoError(t, <-errs)
		require.NoError(t, <-errs)

		go func() { errs <- r.ResilientCall(t.Context(), "get", hold(time.Hour)) }()
		synctest.Wait()
		err := r.ResilientCall(t.Context(), "get", hold(0)) // waits 3s, then refused
		require.ErrorIs(t, err, bulkhead.ErrWaitTimeout)

		s := r.SLO().Snapshot()
		avail := s.Availability.Windows[0]
		assert.Equal(t, 3.0, avail.Calls, "calls ended so far")
		assert.Equal(t, 1.0, avail.Bad, "the refused call")
		lat := s.Latency.Windows[0]
		assert.Equal(t, 2.0, lat.Calls, "successful calls")
		assert.Equal(t, 2.0, lat.Bad, "both slower than 500ms from entry: 1s of work, and 1s in the queue")
		time.Sleep(time.Hour)
		require.NoError(t, <-errs)
	})
}

// Every call is bounded by Config.Timeout, 5s by default: a hung backend
// releases its permit at the limit, and the timeout counts as a breaker
// failure and a bad call.
func TestCallsAreBoundedByATimeout(t *testing.T) {
	for _, tt := range []struct {
		name  string
		limit time.Duration
		want  time.Duration
	}{
		{"default", 0, adapter.DefaultTimeout},
		{"configured", 1500 * time.Millisecond, 1500 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newAdapter(t, adapter.Config{
					Name:           "kb",
					Timeout:        tt.limit,
					BulkheadConfig: bulkhead.Config{MaxConcurrent: 1},
					BreakerConfig:  breaker.Config{FailureThreshold: 1},
				})
				var deadline time.Time
				start := time.Now()
				err := r.ResilientCall(t.Context(), "get", func(ctx context.Context) error {
					deadline, _ = ctx.Deadline()
					<-ctx.Done()
					return ctx.Err()
				})
				assert.Equal(t, tt.want, time.Since(start), "the call ended at its limit")
				assert.Equal(t, tt.want, deadline.Sub(start), "the deadline the backend saw")
				assert.ErrorIs(t, err, timeout.ErrTimeout)
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				assert.Zero(t, r.Bulkhead().Stats().InFlight, "permits held")
				assert.Equal(t, breaker.Open, r.Breaker().State(), "a timeout is a breaker failure")
				calls, bad := sloCalls(r)
				assert.Equal(t, 1.0, calls)
				assert.Equal(t, 1.0, bad)
			})
		})
	}
}

// An operation named "other" has a pipeline of its own, distinct from the
// one that the operations past Config.MaxOperations share.
func TestAnOperationNamedOtherIsNotTheOverflow(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	r := newAdapter(t, adapter.Config{Name: "kb", MaxOperations: 1},
		adapter.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))
	for _, op := range []string{"other", "x"} {
		require.NoError(t, r.ResilientCall(t.Context(), op, func(context.Context) error { return nil }))
	}
	var names []string
	for _, s := range rec.Ended() {
		if !s.Parent().IsValid() {
			names = append(names, s.Name())
		}
	}
	require.Len(t, names, 2)
	assert.Equal(t, "kb.other execute", names[0], "the operation named other")
	assert.NotEqual(t, names[0], names[1], "the overflow pipeline")
}

// An adapter whose embedded *Resilient was never set says so from every
// method, rather than panicking.
func TestAnUnsetResilientSaysSo(t *testing.T) {
	var s store
	require.ErrorIs(t, s.ResilientCall(t.Context(), "get", func(context.Context) error { return nil }), adapter.ErrNoResilient)
	var st adapter.Status
	require.NotPanics(t, func() { st = s.Status() })
	assert.True(t, st.Unset, "Status().Unset")
	assert.False(t, st.Healthy)
	require.NotPanics(t, func() {
		assert.Empty(t, s.AdapterName())
		assert.Nil(t, s.Breaker())
		assert.Nil(t, s.Bulkhead())
		assert.Nil(t, s.SLO())
		assert.NoError(t, s.Close())
	})
	_, err := adapter.Call(t.Context(), nil, "get", func(context.Context) (int, error) { return 1, nil })
	assert.ErrorIs(t, err, adapter.ErrNoResilient, "Call with a nil Adapter")
}

// A panic releases the permit and counts as a bad call and a breaker
// failure; a caller's cancellation counts in neither.
func TestAPanicCountsAndACancellationDoesNot(t *testing.T) {
	r := newAdapter(t, adapter.Config{Name: "kb", BreakerConfig: breaker.Config{FailureThreshold: 1}})
	require.Panics(t, func() {
		_ = r.ResilientCall(t.Context(), "get", func(context.Context) error { panic("boom") })
	})
	calls, bad := sloCalls(r)
	assert.Equal(t, [2]float64{1, 1}, [2]float64{calls, bad}, "SLO calls and bad after a panic")
	assert.Zero(t, r.Bulkhead().Stats().InFlight)
	assert.Equal(t, breaker.Open, r.Breaker().State())

	r2 := newAdapter(t, adapter.Config{Name: "kb2", BreakerConfig: breaker.Config{FailureThreshold: 1}})
	ctx, cancel := context.WithCancel(t.Context())
	err := r2.ResilientCall(ctx, "get", func(ctx context.Context) error { cancel(); return ctx.Err() })
	require.ErrorIs(t, err, context.Canceled)
	calls, _ = sloCalls(r2)
	assert.Zero(t, calls)
	assert.Equal(t, breaker.Closed, r2.Breaker().State())
}
