package hedge_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/hedge"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
	"github.com/aragora/resilience/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

var errUpstream = errors.New("upstream failed")

// roomy is a budget that refuses nothing in these tests.
func roomy(t *testing.T) hedge.Option {
	t.Helper()
	b, err := hedge.NewBudget(100, 10)
	require.NoError(t, err)
	return hedge.WithBudget(b)
}

func mustNew(t *testing.T, opts ...hedge.Option) *hedge.Hedge {
	t.Helper()
	h, err := hedge.New(opts...)
	require.NoError(t, err)
	return h
}

// sleepy answers attempt n after delays[n-1] (the last delay for later
// attempts), or with its context's error when cancelled first.
func sleepy(delays ...time.Duration) func(ctx context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		n := policy.Attempt(ctx)
		d := delays[min(n, len(delays))-1]
		select {
		case <-time.After(d):
			return n, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func TestASlowAttemptIsHedgedAfterTheDelayAndTheFirstToSucceedWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := mustNew(t, hedge.WithDelay(100*time.Millisecond))
		start := time.Now()
		v, err := hedge.Get(context.Background(), h, sleepy(time.Hour, 30*time.Millisecond))
		require.NoError(t, err)
		assert.Equal(t, 2, v, "the hedged attempt's value")
		assert.Equal(t, 130*time.Millisecond, time.Since(start), "the hedge started after 100ms and answered 30ms later")
	})
}

func TestAFastAttemptIsNotHedged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := mustNew(t, hedge.WithDelay(100*time.Millisecond))
		var calls atomic.Int32
		v, err := hedge.Get(context.Background(), h, func(ctx context.Context) (int, error) {
			calls.Add(1)
			time.Sleep(99 * time.Millisecond)
			return policy.Attempt(ctx), nil
		})
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		assert.Equal(t, int32(1), calls.Load())
	})
}

// body stands for an HTTP response body: it must be closed.
type body struct {
	attempt int
	closed  atomic.Bool
}

func TestLosersAreCancelledAndTheirResultsDiscarded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var discarded []*body
		h := mustNew(t, hedge.WithDelay(100*time.Millisecond), hedge.WithMaxHedges(2), roomy(t),
			hedge.WithDiscard(func(b *body) {
				b.closed.Store(true)
				discarded = append(discarded, b)
			}))
		causes := make([]error, 4)
		var mu sync.Mutex
		got, err := hedge.Get(context.Background(), h, func(ctx context.Context) (*body, error) {
			n := policy.Attempt(ctx)
			switch n {
			case 1: // ignores its context, and succeeds late: a value to discard
				time.Sleep(time.Second)
			case 2: // honours its context: cancelled
				<-ctx.Done()
				mu.Lock()
				causes[n] = context.Cause(ctx)
				mu.Unlock()
				return nil, ctx.Err()
			case 3: // the winner
				time.Sleep(10 * time.Millisecond)
			}
			mu.Lock()
			causes[n] = context.Cause(ctx)
			mu.Unlock()
			return &body{attempt: n}, nil
		})
		require.NoError(t, err)
		assert.Equal(t, 3, got.attempt, "the winner's value")
		assert.False(t, got.closed.Load(), "the winner's value is not discarded")
		assert.ErrorIs(t, causes[2], hedge.ErrLost, "the second attempt was cancelled as a loser")
		assert.ErrorIs(t, causes[1], hedge.ErrLost, "the first attempt's context was cancelled as a loser")
		require.Len(t, discarded, 1, "the late success of the first attempt")
		assert.Equal(t, 1, discarded[0].attempt)
		assert.True(t, discarded[0].closed.Load())
	})
}

func TestParallelModeHedgesAtOnceWhenAnAttemptFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := mustNew(t, hedge.WithDelay(time.Second), hedge.WithParallel())
		start := time.Now()
		v, err := hedge.Get(context.Background(), h, func(ctx context.Context) (int, error) {
			if policy.Attempt(ctx) == 1 {
				time.Sleep(10 * time.Millisecond)
				return 0, errUpstream
			}
			return 2, nil
		})
		require.NoError(t, err)
		assert.Equal(t, 2, v)
		assert.Equal(t, 10*time.Millisecond, time.Since(start))

		// Without it, a failure is the execution's: hedging is for latency.
		h = mustNew(t, hedge.WithDelay(time.Second))
		_, err = hedge.Get(context.Background(), h, func(ctx context.Context) (int, error) { return 0, errUpstream })
		assert.ErrorIs(t, err, errUpstream)
	})
}

func TestWhenEveryAttemptFailsTheLastFailureIsTheExecutions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := mustNew(t, hedge.WithDelay(100*time.Millisecond))
		first, second := errors.New("first"), errors.New("second")
		v, err := hedge.Get(context.Background(), h, func(ctx context.Context) (int, error) {
			if policy.Attempt(ctx) == 1 {
				time.Sleep(300 * time.Millisecond)
				return 1, second // fails last
			}
			time.Sleep(100 * time.Millisecond)
			return 2, first
		})
		assert.ErrorIs(t, err, second)
		assert.Equal(t, 1, v, "the value of the attempt whose error ends the execution")
	})
}

func TestABudgetBoundsHedgesAcrossExecutions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		budget, err := hedge.NewBudget(10, 1) // one hedge in flight for up to 19 executions
		require.NoError(t, err)
		h := mustNew(t, hedge.WithDelay(100*time.Millisecond), hedge.WithBudget(budget))
		var calls atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				_ = h.Execute(context.Background(), func(ctx context.Context) error {
					calls.Add(1)
					select {
					case <-time.After(time.Second):
					case <-ctx.Done():
					}
					return nil
				})
			})
		}
		time.Sleep(150 * time.Millisecond)
		execs, hedges := budget.InFlight()
		assert.Equal(t, 10, execs)
		assert.Equal(t, 1, hedges)
		wg.Wait()
		assert.Equal(t, int32(11), calls.Load(), "ten attempts and one hedge")
		execs, hedges = budget.InFlight()
		assert.Zero(t, execs)
		assert.Zero(t, hedges, "every share is released")
	})
}

// counting is a policy inside the hedge: it counts the attempts it sees.
type counting struct{ runs atomic.Int32 }

func (c *counting) Run(ctx context.Context, ex policy.Execution) error {
	c.runs.Add(1)
	return ex.Next(ctx)
}

func TestPoliciesInsideTheHedgeSeeEachHedgedAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inner := &counting{}
		p := policy.MustNew("hedged", mustNew(t, hedge.WithDelay(100*time.Millisecond), hedge.WithMaxHedges(2), roomy(t)), inner)
		_, err := policy.Get(context.Background(), p, sleepy(time.Hour, time.Hour, 10*time.Millisecond))
		require.NoError(t, err)
		assert.Equal(t, int32(3), inner.runs.Load())
	})
}

func TestAPanicInAnAttemptEndsTheExecutionAndIsRaised(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := mustNew(t, hedge.WithDelay(100*time.Millisecond))
		var cause error
		assert.PanicsWithValue(t, "hedged attempt blew up", func() {
			_ = h.Execute(context.Background(), func(ctx context.Context) error {
				if policy.Attempt(ctx) == 2 {
					panic("hedged attempt blew up")
				}
				<-ctx.Done()
				cause = context.Cause(ctx)
				return ctx.Err()
			})
		})
		assert.ErrorIs(t, cause, hedge.ErrLost, "the other attempt was cancelled")
	})
}

// panicking is a policy inside the hedge that panics outside an attempt.
type panicking struct{}

func (panicking) Run(context.Context, policy.Execution) error { panic("policy bug") }

func TestAPanicOfAPolicyInsideTheHedgeReachesTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := policy.MustNew("bug", mustNew(t, hedge.WithDelay(time.Second)), panicking{})
		assert.PanicsWithValue(t, "policy bug", func() {
			_ = p.Execute(context.Background(), func(context.Context) error { return nil })
		})
	})
}

func TestTheCallersCancellationEndsEveryAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		h := mustNew(t, hedge.WithDelay(100*time.Millisecond), hedge.WithMaxHedges(3), roomy(t))
		var calls atomic.Int32
		err := h.Execute(ctx, func(ctx context.Context) error {
			calls.Add(1)
			<-ctx.Done()
			return ctx.Err()
		})
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, int32(2), calls.Load(), "no hedge after the caller gave up")

		calls.Store(0)
		err = h.Execute(ctx, func(context.Context) error { calls.Add(1); return nil })
		assert.ErrorIs(t, err, context.DeadlineExceeded, "a context already done runs nothing")
		assert.Zero(t, calls.Load())
	})
}

func TestTheAdaptiveDelayFollowsThePercentile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := mustNew(t)
		assert.Equal(t, hedge.DefaultMaxDelay, h.Delay(), "the ceiling until there are samples")
		run := func(d time.Duration) {
			_ = h.Execute(context.Background(), func(context.Context) error { time.Sleep(d); return nil })
		}
		for i := range 100 {
			if i%20 == 0 {
				run(200 * time.Millisecond) // 5%
			} else {
				run(20 * time.Millisecond)
			}
		}
		d := h.Delay()
		assert.GreaterOrEqual(t, d, 20*time.Millisecond)
		assert.LessOrEqual(t, d, 25*time.Millisecond, "the p95 of 95 fast and 5 slow attempts is the fast one, within a bucket")

		// The dependency slows down: the delay follows it.
		for range 2000 {
			run(80 * time.Millisecond)
		}
		d = h.Delay()
		assert.GreaterOrEqual(t, d, 80*time.Millisecond)
		assert.LessOrEqual(t, d, 100*time.Millisecond)

		// It stays within its bounds.
		h = mustNew(t, hedge.WithDelayBounds(50*time.Millisecond, 60*time.Millisecond))
		for range 30 {
			_ = h.Execute(context.Background(), func(context.Context) error { return nil })
		}
		assert.Equal(t, 50*time.Millisecond, h.Delay())
	})
}

func TestNewRefusesOptionsOutOfRange(t *testing.T) {
	for name, opt := range map[string]hedge.Option{
		"zero delay":         hedge.WithDelay(0),
		"negative delay":     hedge.WithDelay(-time.Second),
		"inverted bounds":    hedge.WithDelayBounds(time.Second, time.Millisecond),
		"zero ceiling":       hedge.WithDelayBounds(0, 0),
		"percentile of 1":    hedge.WithPercentile(1),
		"percentile of zero": hedge.WithPercentile(0),
		"no hedge":           hedge.WithMaxHedges(0),
	} {
		_, err := hedge.New(opt)
		if assert.Error(t, err, name) {
			assert.Regexp(t, `^hedge: `, err.Error())
		}
	}
	_, err := hedge.New(hedge.WithDelay(-1500 * time.Millisecond))
	assert.EqualError(t, err, "hedge: delay is -1.5s; want a positive delay")
	for _, args := range [][2]float64{{-1, 1}, {101, 1}, {0, 0}, {10, -1}} {
		_, err := hedge.NewBudget(args[0], int(args[1]))
		assert.Error(t, err, "NewBudget(%v, %v)", args[0], args[1])
	}
}

func TestAZeroHedgeSaysToBuildItWithNew(t *testing.T) {
	for name, h := range map[string]*hedge.Hedge{"zero": {}, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			ran := false
			err := h.Execute(context.Background(), func(context.Context) error { ran = true; return nil })
			assert.ErrorIs(t, err, hedge.ErrNotBuilt)
			assert.Contains(t, err.Error(), "hedge.New")
			_, err = hedge.Get(context.Background(), h, func(context.Context) (int, error) { ran = true; return 1, nil })
			assert.ErrorIs(t, err, hedge.ErrNotBuilt)
			if h != nil {
				err = policy.MustNew("zero", h).Execute(context.Background(), func(context.Context) error { ran = true; return nil })
				assert.ErrorIs(t, err, hedge.ErrNotBuilt)
			}
			assert.False(t, ran)
			assert.Equal(t, "hedge", h.Name())
		})
	}
}

// Losers that take time to notice their cancellation are waited for: no
// goroutine of the execution outlives it.
func TestNothingOutlivesTheExecution(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := goleak.IgnoreCurrent()
		h := mustNew(t, hedge.WithDelay(10*time.Millisecond), hedge.WithMaxHedges(3), roomy(t))
		var returned atomic.Int32
		v, err := hedge.Get(context.Background(), h, func(ctx context.Context) (int, error) {
			defer returned.Add(1)
			n := policy.Attempt(ctx)
			if n == 4 {
				return n, nil
			}
			<-ctx.Done()
			time.Sleep(time.Duration(n) * 50 * time.Millisecond) // slow to give up
			return 0, ctx.Err()
		})
		require.NoError(t, err)
		assert.Equal(t, 4, v)
		assert.Equal(t, int32(4), returned.Load(), "every attempt had returned when Get did")
		goleak.VerifyNone(t, before)
	})
}

// In the usual pipeline, a retry outside the hedge and a per-attempt timeout
// inside it: every retry is hedged, every hedged attempt has its own limit,
// and attempts are numbered in the order they started.
func TestAHedgeBetweenARetryAndAPerAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := retry.New(retry.Config{MaxRetries: 1, BaseDelay: 10 * time.Millisecond, Jitter: retry.NoJitter})
		require.NoError(t, err)
		to, err := timeout.New(150 * time.Millisecond)
		require.NoError(t, err)
		h := mustNew(t, hedge.WithDelay(100*time.Millisecond))
		p := policy.MustNew("layered", r, h, to)

		var mu sync.Mutex
		var seen []int
		start := time.Now()
		v, err := policy.Get(context.Background(), p, func(ctx context.Context) (int, error) {
			n := policy.Attempt(ctx)
			mu.Lock()
			seen = append(seen, n)
			mu.Unlock()
			if n < 3 { // the first execution's two attempts time out
				<-ctx.Done()
				return 0, ctx.Err()
			}
			return n, nil
		})
		require.NoError(t, err)
		assert.Equal(t, 3, v, "the retry's first attempt, number 3")
		assert.Equal(t, []int{1, 2, 3}, seen)
		// Attempt 1 times out at 150ms (attempt 2, hedged at 100ms, at 250ms);
		// the retry waits 10ms and attempt 3 answers at once.
		assert.Equal(t, 260*time.Millisecond, time.Since(start))
	})
}

// A hedge inside a retry inside a hedge: the inner hedge's first attempt is
// the outer branch's, so the execution's attempts are numbered from 1, with
// no number lost, and the execution span counts the attempts made.
func TestAttemptsOfAHedgeInsideAHedgeAreNumberedFromOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := retry.New(retry.Config{MaxRetries: 1, BaseDelay: 10 * time.Millisecond, Jitter: retry.NoJitter})
		require.NoError(t, err)
		outer := mustNew(t, hedge.WithDelay(time.Hour), hedge.WithName("outer"))
		inner := mustNew(t, hedge.WithDelay(time.Hour), hedge.WithName("inner"))
		p := policy.MustNew("nested", outer, r, inner)
		var seen []int
		v, err := policy.Get(context.Background(), p, func(ctx context.Context) (int, error) {
			n := policy.Attempt(ctx)
			seen = append(seen, n)
			if n == 1 {
				return 0, errUpstream
			}
			return n, nil
		})
		require.NoError(t, err)
		assert.Equal(t, 2, v)
		assert.Equal(t, []int{1, 2}, seen)
	})
}

// A failure alone never ends hedging early: when the first attempt fails
// while a hedged one runs late, the next hedge still starts after the delay.
func TestAFailedFirstAttemptDoesNotStopTheNextHedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := mustNew(t, hedge.WithDelay(100*time.Millisecond), hedge.WithMaxHedges(2), roomy(t))
		start := time.Now()
		v, err := hedge.Get(context.Background(), h, func(ctx context.Context) (int, error) {
			switch n := policy.Attempt(ctx); n {
			case 1: // fails after the first hedge has started
				time.Sleep(150 * time.Millisecond)
				return 0, errUpstream
			case 2: // runs late
				<-ctx.Done()
				return 0, ctx.Err()
			default:
				time.Sleep(10 * time.Millisecond)
				return n, nil
			}
		})
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		assert.Equal(t, 210*time.Millisecond, time.Since(start), "the second hedge started 100ms after the first")
	})
}

// panicsAfter is a policy inside the hedge that panics, outside the attempt,
// once the second attempt it runs has returned.
type panicsAfter struct{ runs atomic.Int32 }

func (p *panicsAfter) Run(ctx context.Context, ex policy.Execution) error {
	n := p.runs.Add(1)
	err := ex.Next(ctx)
	if n == 1 {
		return err
	}
	panic("classifier bug")
}

// A panic is raised once the values of the attempts that succeeded have
// been discarded, the winner's included, since Execute then returns none:
// a body is still closed.
func TestAPanicStillDiscardsTheValuesOfTheAttemptsThatSucceeded(t *testing.T) {
	run := func(t *testing.T, p *policy.Pipeline, fn func(ctx context.Context) (*body, error), want any) {
		t.Helper()
		assert.PanicsWithValue(t, want, func() {
			_, _ = policy.Get(context.Background(), p, fn)
		})
	}
	t.Run("a policy inside the hedge", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var discarded []int
			h := mustNew(t, hedge.WithDelay(100*time.Millisecond), roomy(t),
				hedge.WithDiscard(func(b *body) { discarded = append(discarded, b.attempt) }))
			run(t, policy.MustNew("bug", h, &panicsAfter{}), func(ctx context.Context) (*body, error) {
				n := policy.Attempt(ctx)
				if n == 1 {
					time.Sleep(150 * time.Millisecond) // ignores its cancellation
				}
				return &body{attempt: n}, nil
			}, "classifier bug")
			assert.Equal(t, []int{1, 2}, discarded, "the first attempt's late success, and the second's that the policy lost")
		})
	})
	t.Run("a loser after the winner", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var discarded []int
			h := mustNew(t, hedge.WithDelay(100*time.Millisecond), roomy(t),
				hedge.WithDiscard(func(b *body) { discarded = append(discarded, b.attempt) }))
			run(t, policy.MustNew("bug", h), func(ctx context.Context) (*body, error) {
				n := policy.Attempt(ctx)
				if n == 1 {
					time.Sleep(150 * time.Millisecond) // ignores its cancellation
					panic("late loser blew up")
				}
				return &body{attempt: n}, nil
			}, "late loser blew up")
			assert.Equal(t, []int{2}, discarded, "the winner's value, which Get does not return")
		})
	})
}

// A discard hook that panics on one value is still handed the others, and
// its panic reaches the caller.
func TestAPanickingDiscardHookIsStillHandedEveryValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var handed []int
		h := mustNew(t, hedge.WithDelay(100*time.Millisecond), hedge.WithMaxHedges(2), roomy(t),
			hedge.WithDiscard(func(b *body) {
				handed = append(handed, b.attempt)
				if b.attempt == 1 {
					panic("discard bug")
				}
			}))
		assert.PanicsWithValue(t, "discard bug", func() {
			_, _ = hedge.Get(context.Background(), h, func(ctx context.Context) (*body, error) {
				n := policy.Attempt(ctx)
				if n < 3 {
					time.Sleep(300 * time.Millisecond) // ignores its cancellation
				} else {
					time.Sleep(10 * time.Millisecond)
				}
				return &body{attempt: n}, nil
			})
		})
		assert.Equal(t, []int{1, 2}, handed)
	})
}

// runtime.Goexit in a hedged attempt (a t.FailNow where it does not belong)
// ends the execution with a panic that says so, rather than leaving the
// caller waiting forever for a branch that will never report back.
func TestGoexitInAHedgedAttemptIsRaisedNotAHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		budget, err := hedge.NewBudget(100, 10)
		require.NoError(t, err)
		h := mustNew(t, hedge.WithDelay(100*time.Millisecond), hedge.WithBudget(budget))
		assert.PanicsWithError(t, "hedge: runtime.Goexit in a hedged attempt", func() {
			_ = h.Execute(context.Background(), func(ctx context.Context) error {
				if policy.Attempt(ctx) == 2 {
					runtime.Goexit()
				}
				<-ctx.Done()
				return ctx.Err()
			})
		})
		execs, hedges := budget.InFlight()
		assert.Zero(t, execs)
		assert.Zero(t, hedges, "the hedge's share is released")
	})
}
