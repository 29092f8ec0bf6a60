package timeout_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
	"github.com/aragora/resilience/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
)

// A panic after the limit is a panic, not a timeout: the fallback does not
// hide it, so an outer breaker counts the failure.
func TestAPanicAfterTheLimitIsNotATimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := breaker.New("panic-after-limit", breaker.Config{FailureThreshold: 1},
			breaker.WithMeterProvider(metricnoop.NewMeterProvider()))
		require.NoError(t, err)
		fallbackCalled, timeouts := false, 0
		to := mustNew(t, time.Second,
			timeout.WithOnTimeout(func(string, time.Duration) { timeouts++ }),
			timeout.WithFallback(func(context.Context, error) error {
				fallbackCalled = true
				return nil
			}))
		p := policy.MustNew("panic-after-limit", b, to)

		assert.PanicsWithValue(t, "nil map after timeout", func() {
			_ = p.Execute(context.Background(), func(ctx context.Context) error {
				<-ctx.Done()
				panic("nil map after timeout")
			})
		})
		assert.False(t, fallbackCalled, "the timeout's fallback was called for a panic")
		assert.Zero(t, timeouts, "a panic was reported as a timeout")
		assert.Equal(t, breaker.Open, b.State(), "a panic counts as a failure of the outer breaker")
	})
}

// nil is a value of an interface type: a fallback may return it.
func TestAFallbackValueMayBeTheNilOfAnInterfaceOrPointer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := timeout.Get(context.Background(), time.Second,
			func(ctx context.Context) (io.Reader, error) {
				<-ctx.Done()
				return io.MultiReader(), ctx.Err()
			},
			timeout.WithFallbackValue(func(context.Context, error) (io.Reader, error) { return nil, nil }))
		assert.NoError(t, err)
		assert.Nil(t, r)

		type page struct{ next string }
		pg, err := timeout.Get(context.Background(), time.Second,
			func(ctx context.Context) (*page, error) {
				<-ctx.Done()
				return &page{next: "2"}, ctx.Err()
			},
			timeout.WithFallbackValue(func(context.Context, error) (*page, error) { return nil, nil }))
		assert.NoError(t, err)
		assert.Nil(t, pg)
	})
}

// The overall timeout of a pipeline, outside a retry: when the retry gives up
// because its next wait would pass that timeout's deadline, the execution
// ends as that timeout, and the timeout's fallback runs.
func TestAnOverallTimeoutEndsARetryThatWouldPassItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fallbackGot error
		to := mustNew(t, time.Second, timeout.WithFallback(func(_ context.Context, err error) error {
			fallbackGot = err
			return nil // serve from a cache
		}))
		r, err := retry.New(retry.Config{MaxRetries: 5, BaseDelay: 400 * time.Millisecond, Jitter: retry.NoJitter})
		require.NoError(t, err)
		upstream := errors.New("upstream 503")
		start := time.Now()
		calls := 0
		err = policy.MustNew("overall", to, r).Execute(context.Background(), func(context.Context) error {
			calls++
			return upstream
		})
		assert.NoError(t, err, "the fallback's nil")
		// Attempts at 0, 400ms; the next wait, 800ms, would end past 1s.
		assert.Equal(t, 2, calls)
		assert.Equal(t, 400*time.Millisecond, time.Since(start), "the retry gave up at once, without waiting for the deadline")
		require.Error(t, fallbackGot, "the overall timeout's fallback did not run")
		assert.ErrorIs(t, fallbackGot, timeout.ErrTimeout)
		assert.ErrorIs(t, fallbackGot, context.DeadlineExceeded)
		assert.ErrorIs(t, fallbackGot, upstream, "the timeout error keeps the last attempt's")

		// Without a fallback, the execution's error is the timeout's.
		err = policy.MustNew("overall", mustNew(t, time.Second), r).Execute(context.Background(),
			func(context.Context) error { return upstream })
		var terr *timeout.Error
		require.ErrorAs(t, err, &terr)
		assert.Equal(t, time.Second, terr.Limit)
	})
}

// A deadline that is not the timeout's own (the caller's, earlier) stays the
// caller's: the retry's early stop is not turned into a timeout.
func TestARetryStoppedByTheCallersEarlierDeadlineIsNotATimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		r, err := retry.New(retry.Config{MaxRetries: 5, BaseDelay: 400 * time.Millisecond, Jitter: retry.NoJitter})
		require.NoError(t, err)
		fallback := false
		to := mustNew(t, time.Second, timeout.WithFallback(func(context.Context, error) error { fallback = true; return nil }))
		err = policy.MustNew("caller-deadline", to, r).Execute(ctx, func(context.Context) error { return errors.New("503") })
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NotErrorIs(t, err, timeout.ErrTimeout)
		assert.False(t, fallback)
	})
}

// A zero Timeout, or a nil one, fails with a message naming New instead of a
// nil dereference or a limit of zero.
func TestAZeroTimeoutSaysToBuildItWithNew(t *testing.T) {
	for name, to := range map[string]*timeout.Timeout{"zero": {}, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			ran := false
			fn := func(context.Context) error { ran = true; return nil }
			err := to.Execute(context.Background(), fn)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "timeout.New")
			if to != nil { // a pipeline refuses a nil policy itself
				err = policy.MustNew("zero", to).Execute(context.Background(), fn)
				require.Error(t, err)
				assert.Contains(t, err.Error(), "timeout.New")
			}
			assert.False(t, ran)
			assert.Equal(t, "timeout", to.Name())
		})
	}
}

// Messages round durations for people.
func TestTimeoutMessagesRoundDurations(t *testing.T) {
	err := &timeout.Error{Limit: 1499999999 * time.Nanosecond, Err: errors.New("slow")}
	assert.Equal(t, "timeout: time limit of 1.5s exceeded: slow", err.Error())
	_, nerr := timeout.New(-30 * time.Second)
	assert.EqualError(t, nerr, "timeout: limit must be positive, got -30s")
}
