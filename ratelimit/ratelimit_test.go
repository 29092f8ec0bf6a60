package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/aragora/resilience/internal/oteltest"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/ratelimit"
)

func mustNew(t testing.TB, name string, lim ratelimit.Limiter, opts ...ratelimit.Option) *ratelimit.RateLimiter {
	t.Helper()
	r, err := ratelimit.New(name, lim, opts...)
	require.NoError(t, err)
	return r
}

// counting returns a function that counts its runs.
func counting(n *int) func(context.Context) error {
	return func(context.Context) error { *n++; return nil }
}

func TestARefusalIsErrRateLimitedWithRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, "partner", mustBucket(t, 4, 1)) // 250ms
		runs := 0
		require.NoError(t, r.Execute(context.Background(), counting(&runs)))
		time.Sleep(100 * time.Millisecond)
		err := r.Execute(context.Background(), counting(&runs))
		assert.Equal(t, 1, runs, "a refused call ran")
		assert.ErrorIs(t, err, ratelimit.ErrRateLimited)
		assert.ErrorIs(t, err, policy.ErrRejected)
		assert.Equal(t, policy.Rejected, policy.OutcomeOf(err))
		var re *ratelimit.RejectedError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, 150*time.Millisecond, re.RetryAfter())
		assert.Equal(t, "partner", re.Limiter)
		assert.Equal(t, ratelimit.ReasonLimited, re.Reason())
		assert.Equal(t, "rate_limited", policy.ErrorType(err))
		assert.Equal(t, `ratelimit: "partner": rate limited; retry after 150ms`, err.Error())

		time.Sleep(re.RetryAfter())
		assert.NoError(t, r.Execute(context.Background(), counting(&runs)), "refused at RetryAfter")
	})
}

func TestACallWaitsWithinMaxWaitAndIsRefusedBeyondIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, "api", mustBucket(t, 10, 1), ratelimit.WithMaxWait(150*time.Millisecond))
		runs := 0
		require.NoError(t, r.Execute(context.Background(), counting(&runs)))
		start := time.Now()
		require.NoError(t, r.Execute(context.Background(), counting(&runs)))
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "the wait")

		// The next permit is at 200ms, the one after at 300ms: beyond 150ms.
		require.NoError(t, r.Execute(context.Background(), counting(&runs)))
		assert.Equal(t, 200*time.Millisecond, time.Since(start))
		start = time.Now()
		done := make(chan error)
		go func() { done <- r.Execute(context.Background(), counting(&runs)) }()
		synctest.Wait() // it reserved the permit at 300ms and waits
		err := r.Execute(context.Background(), counting(&runs))
		assert.Zero(t, time.Since(start), "a refusal waited")
		var re *ratelimit.RejectedError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, ratelimit.ReasonMaxWait, re.Reason())
		assert.Equal(t, 200*time.Millisecond, re.RetryAfter(), "the permit after the reserved one")
		assert.Equal(t, `ratelimit: "api": no permit within 150ms; retry after 200ms`, err.Error())
		require.NoError(t, <-done)
		assert.Equal(t, 4, runs)
	})
}

func TestAPermitPastTheDeadlineIsNotReserved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, "api", mustBucket(t, 10, 1), ratelimit.WithMaxWait(time.Second))
		runs := 0
		require.NoError(t, r.Execute(context.Background(), counting(&runs)))
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := r.Execute(ctx, counting(&runs))
		assert.ErrorIs(t, err, ratelimit.ErrRateLimited)
		assert.Zero(t, time.Since(start), "the call waited for a permit it could not use")

		// The refused call took nothing: the next permit is still at 100ms.
		require.NoError(t, r.Execute(context.Background(), counting(&runs)))
		assert.Equal(t, 100*time.Millisecond, time.Since(start))
	})
}

func TestACallCancelledWhileWaitingEndsWithItsContextsError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, "api", mustBucket(t, 1, 1), ratelimit.WithMaxWait(time.Minute))
		runs := 0
		require.NoError(t, r.Execute(context.Background(), counting(&runs)))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- r.Execute(ctx, counting(&runs)) }()
		time.Sleep(100 * time.Millisecond)
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
		assert.Equal(t, 1, runs, "a cancelled call ran")
	})
}

func TestADoneContextTakesNoPermit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBucket(t, 1, 1)
		r := mustNew(t, "api", b)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.ErrorIs(t, r.Execute(ctx, counting(new(int))), context.Canceled)
		assert.Equal(t, 1, b.Remaining())
	})
}

func TestACallCostsThePermitsItsContextSays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBucket(t, 1, 5)
		r := mustNew(t, "batch", b)
		ctx := ratelimit.ContextWithCost(ratelimit.ContextWithKey(context.Background(), "ignored"), 3)
		require.NoError(t, r.Execute(ctx, counting(new(int))))
		assert.Equal(t, 2, b.Remaining())
		assert.ErrorIs(t, r.Execute(ctx, counting(new(int))), ratelimit.ErrRateLimited)
		assert.ErrorIs(t, r.Execute(ratelimit.ContextWithCost(ctx, 6), counting(new(int))), ratelimit.ErrCostAboveBurst)
		require.NoError(t, r.Execute(ratelimit.ContextWithCost(ctx, 0), counting(new(int))), "cost 0 counts as 1")
		assert.Equal(t, 1, b.Remaining())
	})
}

func TestKeysSelectTheirOwnLimitThroughThePolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := ratelimit.NewKeyed(ratelimit.PerSecond(1), 1, 100)
		require.NoError(t, err)
		r := mustNew(t, "tenants", k)
		a := ratelimit.ContextWithKey(context.Background(), "a")
		b := ratelimit.ContextWithCost(ratelimit.ContextWithKey(context.Background(), "b"), 1)
		require.NoError(t, r.Execute(a, counting(new(int))))
		assert.ErrorIs(t, r.Execute(a, counting(new(int))), ratelimit.ErrRateLimited)
		assert.NoError(t, r.Execute(b, counting(new(int))))
	})
}

type brokenLimiter struct{ err error }

func (l brokenLimiter) Reserve(context.Context, string, int, time.Duration) (ratelimit.Reservation, error) {
	return ratelimit.Reservation{}, l.err
}

func TestALimiterThatCannotDecideFailsTheCall(t *testing.T) {
	errStore := errors.New("store: connection refused")
	r := mustNew(t, "shared", brokenLimiter{errStore})
	runs := 0
	assert.ErrorIs(t, r.Execute(context.Background(), counting(&runs)), errStore)
	assert.Zero(t, runs)
}

func TestRefusalsAndWaitsAreEventsWithoutTheKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := oteltest.NewRecorder()
		k, err := ratelimit.NewKeyed(ratelimit.PerSecond(10), 1, 100)
		require.NoError(t, err)
		p := policy.MustNew("partner", mustNew(t, "partner-limit", k, ratelimit.WithMaxWait(100*time.Millisecond))).
			With(policy.WithTracerProvider(rec.TP), policy.WithMeterProvider(rec.MP))
		ctx := ratelimit.ContextWithKey(context.Background(), "tenant-42")
		require.NoError(t, p.Execute(ctx, counting(new(int)))) // at once
		require.NoError(t, p.Execute(ctx, counting(new(int)))) // waits 100ms
		go func() { _ = p.Execute(ctx, counting(new(int))) }() // reserves 200ms, waits
		synctest.Wait()
		assert.ErrorIs(t, p.Execute(ctx, counting(new(int))), ratelimit.ErrRateLimited) // 300ms: refused
		time.Sleep(time.Second)

		events := rec.Events("partner execute")
		require.Len(t, events, 3)
		var rejected, waited oteltest.Event
		for _, e := range events {
			switch e.Name {
			case "ratelimit.rejected":
				rejected = e
			case "ratelimit.waited":
				waited = e
			}
			for _, v := range e.Attrs {
				assert.NotContains(t, v.String(), "tenant-42", "a key reached telemetry")
			}
		}
		assert.Equal(t, map[attribute.Key]attribute.Value{
			policy.AttrPolicy: attribute.StringValue("partner-limit"),
			policy.AttrDelay:  attribute.Float64Value(0.1),
		}, waited.Attrs)
		assert.Equal(t, map[attribute.Key]attribute.Value{
			policy.AttrPolicy:    attribute.StringValue("partner-limit"),
			policy.AttrReason:    attribute.StringValue(ratelimit.ReasonMaxWait),
			policy.AttrDelay:     attribute.Float64Value(0.2),
			policy.AttrErrorType: attribute.StringValue("rate_limited"),
		}, rejected.Attrs)
		assert.Equal(t, map[string]int64{
			"partner-limit ratelimit.waited": 2, "partner-limit ratelimit.rejected": 1,
		}, rec.EventCounts(t))
	})
}

// switching is a limiter that admits every call and says that backend
// decided.
type switching struct{ backend string }

func (s *switching) Reserve(context.Context, string, int, time.Duration) (ratelimit.Reservation, error) {
	return ratelimit.Reservation{OK: true, Backend: s.backend}, nil
}

func TestEachChangeOfBackendIsOneEvent(t *testing.T) {
	rec := oteltest.NewRecorder()
	lim := &switching{backend: "store"}
	p := policy.MustNew("shared", mustNew(t, "shared-limit", lim)).
		With(policy.WithTracerProvider(rec.TP), policy.WithMeterProvider(rec.MP))
	for _, b := range []string{"store", "store", "local", "local", "store"} {
		lim.backend = b
		require.NoError(t, p.Execute(context.Background(), counting(new(int))))
	}
	var changes []string
	for _, e := range rec.Events("shared execute") {
		require.Equal(t, "ratelimit.backend_change", e.Name)
		changes = append(changes, e.Attrs[policy.AttrStateFrom].AsString()+"→"+e.Attrs[policy.AttrStateTo].AsString())
	}
	assert.Equal(t, []string{"store→local", "local→store"}, changes, "the first backend seen is no change")
}

func TestAZeroRateLimiterSaysToBuildItWithNew(t *testing.T) {
	for name, r := range map[string]*ratelimit.RateLimiter{"zero": {}, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			ran := false
			fn := func(context.Context) error { ran = true; return nil }
			err := r.Execute(context.Background(), fn)
			assert.ErrorIs(t, err, ratelimit.ErrNotBuilt)
			assert.Contains(t, err.Error(), "ratelimit.New")
			if r != nil {
				assert.ErrorIs(t, policy.MustNew("zero", r).Execute(context.Background(), fn), ratelimit.ErrNotBuilt)
			}
			assert.False(t, ran)
		})
	}
}
