package retry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
	"github.com/aragora/resilience/timeout"
)

// pushback is a server's failure that says when to try again, as HTTP
// Retry-After and gRPC pushback do.
type pushback struct{ after time.Duration }

func (p pushback) Error() string             { return fmt.Sprintf("overloaded, retry after %v", p.after) }
func (p pushback) RetryAfter() time.Duration { return p.after }

// rejection is what a breaker inside the retry returns while it is open: it
// matches policy.ErrRejected and says when it will admit a trial.
type rejection struct{ after time.Duration }

func (r rejection) Error() string             { return "breaker open" }
func (r rejection) Is(target error) bool      { return target == policy.ErrRejected }
func (r rejection) RetryAfter() time.Duration { return r.after }

// timeline runs fn's failures through the policy and returns the time
// between each call and the one before it.
func timeline(t *testing.T, run func(fn func(context.Context) error) error, errs ...error) (gaps []time.Duration, err error) {
	t.Helper()
	f := failing(errs...)
	last := time.Now()
	err = run(func(ctx context.Context) error {
		if f.calls > 0 {
			gaps = append(gaps, time.Since(last))
		}
		last = time.Now()
		return f.run(ctx)
	})
	return gaps, err
}

func TestDelaysFollowEachStrategyExactlyWithoutJitter(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		strategy retry.Strategy
		want     []time.Duration
	}{
		{retry.Exponential, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1000 * ms, 1000 * ms}},
		{retry.Linear, []time.Duration{100 * ms, 200 * ms, 300 * ms, 400 * ms, 500 * ms, 600 * ms}},
		{retry.Constant, []time.Duration{100 * ms, 100 * ms, 100 * ms, 100 * ms, 100 * ms, 100 * ms}},
	}
	for _, tt := range tests {
		cfg := retry.Config{MaxRetries: 6, BaseDelay: 100 * ms, MaxDelay: time.Second, Strategy: tt.strategy, Jitter: retry.NoJitter}
		for _, rn := range runners {
			t.Run(tt.strategy.String()+"/"+rn.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					var heard []string
					listen := retry.WithOnRetry(func(op string, attempt int, d time.Duration) {
						heard = append(heard, fmt.Sprintf("%s %d %v", op, attempt, d))
					})
					gaps, err := timeline(t, func(fn func(context.Context) error) error {
						return rn.run(t, context.Background(), cfg, fn, listen)
					}, times(6, errFlaky)...)
					if err != nil {
						t.Fatalf("err = %v, want success on the 7th attempt", err)
					}
					if fmt.Sprint(gaps) != fmt.Sprint(tt.want) {
						t.Errorf("waits = %v, want %v", gaps, tt.want)
					}
					op := "retry"
					if rn.name == "pipeline" {
						op = "test" // the pipeline's name
					}
					var want []string
					for i, d := range tt.want {
						want = append(want, fmt.Sprintf("%s %d %v", op, i+2, d))
					}
					if fmt.Sprint(heard) != fmt.Sprint(want) {
						t.Errorf("OnRetry heard %q, want %q", heard, want)
					}
				})
			})
		}
	}
}

func TestWaitsWithJitterStayWithinTheirBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base, maxDelay := 100*time.Millisecond, 3*time.Second
		for _, j := range []retry.Jitter{retry.FullJitter, retry.EqualJitter, retry.DecorrelatedJitter} {
			cfg := retry.Config{MaxRetries: 8, BaseDelay: base, MaxDelay: maxDelay, Jitter: j}
			for range 20 {
				gaps, err := timeline(t, func(fn func(context.Context) error) error {
					return retry.Do(context.Background(), cfg, fn)
				}, times(8, errFlaky)...)
				if err != nil {
					t.Fatal(err)
				}
				prev := time.Duration(0)
				for i, g := range gaps {
					d := min(base<<i, maxDelay) // the exponential delay before retry i+1
					lo, hi := time.Duration(0), d
					switch j {
					case retry.EqualJitter:
						lo = d - d/2
					case retry.DecorrelatedJitter:
						lo, hi = base, min(maxDelay, 3*max(prev, base))
					}
					if g < lo || g > hi {
						t.Errorf("%v jitter: wait %d = %v, want within [%v, %v]", j, i+1, g, lo, hi)
					}
					prev = g
				}
			}
		}
	})
}

func TestCancellationDuringAWaitReturnsAtOnce(t *testing.T) {
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				time.AfterFunc(1500*time.Millisecond, cancel)
				start := time.Now()
				f := failing(times(10, errFlaky)...)
				err := rn.run(t, ctx, retry.Config{BaseDelay: time.Second, MaxDelay: time.Hour, Jitter: retry.NoJitter}, f.run)
				if elapsed := time.Since(start); elapsed != 1500*time.Millisecond {
					t.Errorf("returned after %v, want at the cancellation, 1.5s", elapsed)
				}
				if f.calls != 2 || !errors.Is(err, context.Canceled) || !errors.Is(err, errFlaky) {
					t.Errorf("err = %v after %d calls; want context.Canceled wrapped with the last attempt's error, after 2 calls", err, f.calls)
				}
				want := "retry: context canceled while waiting to retry after attempt 2: flaky"
				if err.Error() != want {
					t.Errorf("err = %q, want %q", err, want)
				}
			})
		})
	}
}

func TestACancellationAtTheEndOfAWait(t *testing.T) {
	// The wait's timer and the cancellation fire at the same instant: the
	// second attempt runs or not, depending on which the policy sees first,
	// but the execution always ends with both errors, at that instant.
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				for range 50 {
					ctx, cancel := context.WithCancel(context.Background())
					time.AfterFunc(100*time.Millisecond, cancel)
					start := time.Now()
					f := failing(times(10, errFlaky)...)
					err := rn.run(t, ctx, retry.Config{Jitter: retry.NoJitter}, f.run)
					if f.calls > 2 || time.Since(start) != 100*time.Millisecond || !errors.Is(err, context.Canceled) || !errors.Is(err, errFlaky) {
						t.Fatalf("err = %v after %d calls and %v; want context.Canceled with the last attempt's error, at 100ms", err, f.calls, time.Since(start))
					}
					cancel()
				}
			})
		})
	}
}

func TestADelayThatWouldPassTheDeadlineIsNotStarted(t *testing.T) {
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
				defer cancel()
				start := time.Now()
				f := failing(times(10, errFlaky)...)
				// Waits of 100ms then 200ms: the second would end at 300ms,
				// past the 250ms deadline, so the execution fails at 100ms.
				err := rn.run(t, ctx, retry.Config{Jitter: retry.NoJitter}, f.run)
				if elapsed := time.Since(start); elapsed != 100*time.Millisecond {
					t.Errorf("returned after %v, want 100ms: no wait that cannot end before the deadline", elapsed)
				}
				if f.calls != 2 || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errFlaky) {
					t.Errorf("err = %v after %d calls; want context.DeadlineExceeded with the last attempt's error, after 2 calls", err, f.calls)
				}
			})
		})
	}
}

// A pause asked beyond MaxDelay ends the retries: see
// TestAPauseAskedBeyondMaxDelayEndsTheRetries.
func TestRetryAfterIsHonouredWithinMaxDelay(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration
		want  time.Duration
	}{
		{"a longer delay than the strategy's", 3 * time.Second, 3 * time.Second},
		{"a shorter delay than the strategy's", 10 * time.Millisecond, 10 * time.Millisecond},
		{"exactly MaxDelay", 5 * time.Second, 5 * time.Second},
		{"zero leaves the strategy's delay", 0, 100 * time.Millisecond},
	}
	cfg := retry.Config{MaxDelay: 5 * time.Second, Jitter: retry.NoJitter}
	for _, tt := range tests {
		for _, rn := range runners {
			t.Run(tt.name+"/"+rn.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					gaps, err := timeline(t, func(fn func(context.Context) error) error {
						return rn.run(t, context.Background(), cfg, fn)
					}, fmt.Errorf("call: %w", pushback{tt.after}))
					if err != nil || len(gaps) != 1 || gaps[0] != tt.want {
						t.Errorf("waits = %v, err = %v; want one wait of %v", gaps, err, tt.want)
					}
				})
			})
		}
	}
}

func TestRejectionsAreRetriedOnlyWhenAskedAndNotBeforeTheTrial(t *testing.T) {
	tests := []struct {
		name  string
		cfg   retry.Config
		err   error
		waits []time.Duration // nil: not retried
	}{
		{"not by default", retry.Config{}, rejection{2 * time.Second}, nil},
		{"when asked, after the breaker's delay", retry.Config{RetryRejected: true}, rejection{2 * time.Second}, []time.Duration{2 * time.Second}},
		{"when asked, with no delay given", retry.Config{RetryRejected: true, Jitter: retry.NoJitter}, rejection{}, []time.Duration{100 * time.Millisecond}},
		{"not when the trial is further than MaxDelay", retry.Config{RetryRejected: true, MaxDelay: time.Second}, rejection{time.Minute}, nil},
		{"not when RetryOn does not list it", retry.Config{RetryRejected: true, RetryOn: []error{errFlaky}}, rejection{time.Second}, nil},
		{"when RetryOn lists it", retry.Config{RetryRejected: true, RetryOn: []error{policy.ErrRejected}}, rejection{time.Second}, []time.Duration{time.Second}},
	}
	for _, tt := range tests {
		for _, rn := range runners {
			t.Run(tt.name+"/"+rn.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					gaps, err := timeline(t, func(fn func(context.Context) error) error {
						return rn.run(t, context.Background(), tt.cfg, fn)
					}, tt.err)
					if tt.waits == nil {
						if err != tt.err || len(gaps) != 0 {
							t.Errorf("err = %v after waits %v; want the rejection returned at once", err, gaps)
						}
						return
					}
					if err != nil || fmt.Sprint(gaps) != fmt.Sprint(tt.waits) {
						t.Errorf("err = %v after waits %v; want success after %v", err, gaps, tt.waits)
					}
				})
			})
		}
	}
}

func TestATimeoutPolicyInsideTheRetryBoundsEachAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to, err := timeout.New(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		p := pipeline(t, mustNew(t, retry.Config{Jitter: retry.NoJitter}), to)
		start := time.Now()
		calls := 0
		err = p.Execute(context.Background(), func(ctx context.Context) error {
			calls++
			if calls < 3 {
				<-ctx.Done() // a hung call, ended by the timeout
				return ctx.Err()
			}
			return nil
		})
		// 1s, wait 100ms, 1s, wait 200ms, then success.
		if err != nil || calls != 3 || time.Since(start) != 2300*time.Millisecond {
			t.Errorf("err = %v after %d calls and %v; want the timed-out attempts retried, success at 2.3s", err, calls, time.Since(start))
		}
	})
}

// repeat is a policy that runs the rest of the pipeline n times, without
// waiting: what the core allocates for n attempts, without a retry policy's
// own allocations.
type repeat struct{ n int }

func (r repeat) Run(ctx context.Context, ex policy.Execution) (err error) {
	for range r.n {
		err = ex.Next(ctx)
	}
	return err
}

func TestWaitsReuseOneTimerPerExecution(t *testing.T) {
	// An execution's waits share one timer, and a retry allocates nothing of
	// its own: the retry's allocations are the same for 3 attempts as for 10.
	synctest.Test(t, func(t *testing.T) {
		fail := func(context.Context) error { return errFlaky }
		cfg := func(maxRetries int) retry.Config {
			return retry.Config{MaxRetries: maxRetries, BaseDelay: time.Millisecond, Jitter: retry.NoJitter}
		}
		allocs := func(run func() error) float64 {
			return testing.AllocsPerRun(20, func() {
				if err := run(); err == nil {
					t.Fatal("the execution succeeded")
				}
			})
		}
		do := func(maxRetries int) float64 {
			return allocs(func() error { return retry.Do(context.Background(), cfg(maxRetries), fail) })
		}
		if few, many := do(2), do(9); few != many {
			t.Errorf("Do: %v allocations with 2 retries, %v with 9; want the same", few, many)
		}
		piped := func(maxRetries int) float64 {
			p := pipeline(t, mustNew(t, cfg(maxRetries)))
			ref := pipeline(t, repeat{maxRetries + 1})
			return allocs(func() error { return p.Execute(context.Background(), fail) }) -
				allocs(func() error { return ref.Execute(context.Background(), fail) })
		}
		if few, many := piped(2), piped(9); few != many {
			t.Errorf("pipeline: the retry allocates %v with 2 retries, %v with 9, beyond the core's attempts; want the same", few, many)
		}
	})
}

func TestASuccessfulFirstAttemptAllocatesNothing(t *testing.T) {
	ok := func(context.Context) error { return nil }
	r := mustNew(t, retry.Config{})
	p := pipeline(t, r)
	budget, _ := retry.NewTokenBucket(10, 0.1)
	withBudget := pipeline(t, mustNew(t, retry.Config{}, retry.WithBudget(budget)))
	ctx := context.Background()
	for name, fn := range map[string]func(){
		"Do":                   func() { _ = retry.Do(ctx, retry.Config{MaxRetries: 5}, ok) },
		"Get":                  func() { _, _ = retry.Get(ctx, retry.Config{}, func(context.Context) (int, error) { return 7, nil }) },
		"pipeline":             func() { _ = p.Execute(ctx, ok) },
		"pipeline with budget": func() { _ = withBudget.Execute(ctx, ok) },
	} {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s: %v allocations, want 0", name, n)
		}
	}
}

func TestTheChainOfAnErrorIsSearchedForRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tests := []struct {
			name  string
			err   error
			waits []time.Duration // nil: not retried
		}{
			{"joined with another error", errors.Join(errFlaky, fmt.Errorf("server: %w", pushback{3 * time.Second})), []time.Duration{3 * time.Second}},
			{"a permanent error among others", errors.Join(errFlaky, retry.Permanent(errFlaky)), nil},
			{"a joined panic", errors.Join(errFlaky, &policy.PanicError{Value: "boom"}), nil},
		}
		for _, tt := range tests {
			gaps, err := timeline(t, func(fn func(context.Context) error) error {
				return retry.Do(context.Background(), retry.Config{}, fn)
			}, tt.err)
			if tt.waits == nil {
				if err != tt.err || len(gaps) != 0 {
					t.Errorf("%s: err = %v after waits %v, want the error at once", tt.name, err, gaps)
				}
				continue
			}
			if err != nil || fmt.Sprint(gaps) != fmt.Sprint(tt.waits) {
				t.Errorf("%s: err = %v after waits %v, want success after %v", tt.name, err, gaps, tt.waits)
			}
		}
	})
}

func TestACancellationWithACauseKeepsTheCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shutdown := fmt.Errorf("shutting down: %w", context.Canceled)
		ctx, cancel := context.WithCancelCause(context.Background())
		time.AfterFunc(time.Second, func() { cancel(shutdown) })
		err := retry.Do(ctx, retry.Config{BaseDelay: time.Hour, Jitter: retry.NoJitter}, failing(errFlaky).run)
		if !errors.Is(err, shutdown) || !errors.Is(err, context.Canceled) || !errors.Is(err, errFlaky) {
			t.Errorf("err = %v, want the cause, context.Canceled and the attempt's error", err)
		}
	})
}

func TestACancellationBeforeAZeroWaitStartsNoAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Full jitter over [0, 1ns] draws zero waits half the time.
		for range 20 {
			ctx, cancel := context.WithCancel(context.Background())
			f := failing(times(10, errFlaky)...)
			err := retry.Do(ctx, retry.Config{BaseDelay: 1, MaxDelay: 1}, f.run,
				retry.WithOnRetry(func(string, int, time.Duration) { cancel() }))
			if f.calls != 1 || !errors.Is(err, context.Canceled) || !errors.Is(err, errFlaky) {
				t.Fatalf("err = %v after %d calls, want context.Canceled with the attempt's error after one", err, f.calls)
			}
		}
	})
}
