package timeout_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/timeout"
)

// waitForDone is a function that honours its context.
func waitForDone(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func mustNew(t *testing.T, limit time.Duration, opts ...timeout.Option) *timeout.Timeout {
	t.Helper()
	to, err := timeout.New(limit, opts...)
	if err != nil {
		t.Fatalf("timeout.New(%v): %v", limit, err)
	}
	return to
}

func TestNewRejectsALimitThatIsNotPositive(t *testing.T) {
	for _, limit := range []time.Duration{0, -time.Second} {
		_, err := timeout.New(limit)
		if err == nil || !strings.Contains(err.Error(), "limit") {
			t.Errorf("New(%v) = %v, want an error naming the limit", limit, err)
		}
		if err := timeout.Do(context.Background(), limit, waitForDone); err == nil {
			t.Errorf("Do(%v) ran; want the constructor's error", limit)
		}
	}
}

func TestAFunctionThatFinishesInTimeSucceeds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := mustNew(t, time.Second)
		err := to.Execute(context.Background(), func(ctx context.Context) error {
			if d, ok := ctx.Deadline(); !ok || time.Until(d) != time.Second {
				t.Errorf("deadline = %v, %v; want one second from now", d, ok)
			}
			time.Sleep(999 * time.Millisecond)
			return nil
		})
		if err != nil {
			t.Fatalf("Execute = %v, want nil", err)
		}
	})
}

func TestTheLimitEndsTheFunctionWithATimeoutError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var listened []string
		to := mustNew(t, 3*time.Second, timeout.WithOnTimeout(func(op string, limit time.Duration) {
			listened = append(listened, op+" "+limit.String())
		}))
		start := time.Now()
		var cause error
		err := to.Execute(context.Background(), func(ctx context.Context) error {
			<-ctx.Done()
			cause = context.Cause(ctx)
			return ctx.Err()
		})
		if elapsed := time.Since(start); elapsed != 3*time.Second {
			t.Errorf("returned after %v, want exactly the 3s limit", elapsed)
		}
		for _, target := range []error{timeout.ErrTimeout, context.DeadlineExceeded} {
			if !errors.Is(err, target) {
				t.Errorf("errors.Is(%v, %v) = false", err, target)
			}
			if !errors.Is(cause, target) {
				t.Errorf("the context's cause %v does not match %v", cause, target)
			}
		}
		var terr *timeout.Error
		if !errors.As(err, &terr) || terr.Limit != 3*time.Second || !terr.Timeout() {
			t.Fatalf("errors.As(%v, *timeout.Error) = %+v", err, terr)
		}
		if terr.Err != context.DeadlineExceeded {
			t.Errorf("the error wraps %v, want the function's context.DeadlineExceeded", terr.Err)
		}
		if policy.ErrorType(err) != "timeout" {
			t.Errorf("ErrorType = %q, want timeout", policy.ErrorType(err))
		}
		if len(listened) != 1 || listened[0] != "timeout 3s" {
			t.Errorf("listener calls = %q, want one with the pipeline name and the limit", listened)
		}
	})
}

func TestAnyErrorAfterTheLimitIsATimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reset := errors.New("connection reset")
		err := timeout.Do(context.Background(), time.Second, func(ctx context.Context) error {
			<-ctx.Done()
			return reset // what a client returns when the deadline closed its connection
		})
		if !errors.Is(err, timeout.ErrTimeout) || !errors.Is(err, reset) {
			t.Fatalf("err = %v, want a timeout wrapping the function's error", err)
		}
	})
}

func TestAnErrorBeforeTheLimitIsNotATimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("boom")
		err := timeout.Do(context.Background(), time.Second, func(context.Context) error { return boom })
		if err != boom {
			t.Fatalf("err = %v, want the function's own error, unwrapped", err)
		}
	})
}

func TestSuccessWinsAtTheBoundary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := mustNew(t, time.Second)
		tests := []struct {
			name string
			run  time.Duration
		}{
			{"exactly at the limit", time.Second},
			{"after the limit, ignoring the context", 5 * time.Second},
		}
		for _, tt := range tests {
			err := to.Execute(context.Background(), func(ctx context.Context) error {
				time.Sleep(tt.run)
				return nil
			})
			if err != nil {
				t.Errorf("%s: err = %v, want nil: a function that succeeded must not be reported as timed out", tt.name, err)
			}
		}
	})
}

func TestAFunctionThatIgnoresItsContextDelaysTheTimeoutButLeaksNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		err := timeout.Do(context.Background(), time.Second, func(ctx context.Context) error {
			time.Sleep(4 * time.Second) // deaf to ctx
			return errors.New("late")
		})
		if !errors.Is(err, timeout.ErrTimeout) {
			t.Fatalf("err = %v, want a timeout", err)
		}
		if elapsed := time.Since(start); elapsed != 4*time.Second {
			t.Errorf("returned after %v, want when the function did (4s): the function is never abandoned", elapsed)
		}
		// synctest.Test fails if a goroutine of the bubble outlives it, and
		// goleak checks the whole package at the end.
	})
}

func TestTheCallersCancellationIsNotATimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		called := false
		to := mustNew(t, time.Hour, timeout.WithOnTimeout(func(string, time.Duration) { called = true }))
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel)
		err := to.Execute(ctx, waitForDone)
		if !errors.Is(err, context.Canceled) || errors.Is(err, timeout.ErrTimeout) {
			t.Fatalf("err = %v, want context.Canceled and not a timeout", err)
		}
		if called {
			t.Error("the timeout listener ran for a cancellation")
		}
	})
}

func TestAnEarlierDeadlineOfTheCallerIsNotATimeoutOfThePolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := mustNew(t, time.Hour)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := to.Execute(ctx, waitForDone)
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, timeout.ErrTimeout) {
			t.Fatalf("err = %v, want the caller's DeadlineExceeded, not the policy's timeout", err)
		}
	})
}

func TestACallerContextThatIsAlreadyDoneRunsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := mustNew(t, time.Second).Execute(ctx, func(context.Context) error { ran = true; return nil })
	if ran || !errors.Is(err, context.Canceled) {
		t.Fatalf("ran = %v, err = %v; want no attempt and context.Canceled", ran, err)
	}
}

func TestFallbackReplacesTheTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got error
		to := mustNew(t, time.Second, timeout.WithFallback(func(ctx context.Context, err error) error {
			got = err
			if ctx.Err() != nil {
				t.Errorf("the fallback got a done context: %v", ctx.Err())
			}
			return nil
		}))
		if err := to.Execute(context.Background(), waitForDone); err != nil {
			t.Fatalf("err = %v, want the fallback's nil", err)
		}
		if !errors.Is(got, timeout.ErrTimeout) {
			t.Errorf("the fallback received %v, want the timeout error", got)
		}
	})
}

func TestFallbackValueIsWhatGetReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		empty := func(context.Context, error) ([]string, error) { return []string{}, nil }
		items, err := timeout.Get(context.Background(), time.Second, func(ctx context.Context) ([]string, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}, timeout.WithFallbackValue(empty))
		if err != nil || items == nil || len(items) != 0 {
			t.Fatalf("Get = %v, %v; want the fallback's empty slice", items, err)
		}

		// A fallback whose value is of another type than Get's is a mistake
		// that must not pass silently.
		n, err := timeout.Get(context.Background(), time.Second, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 7, ctx.Err()
		}, timeout.WithFallbackValue(empty))
		if !errors.Is(err, timeout.ErrTimeout) || !strings.Contains(err.Error(), "[]string") {
			t.Fatalf("Get = %v, %v; want an error naming the misfit type", n, err)
		}

		// A fallback's error is the execution's.
		unavailable := errors.New("no cached value")
		_, err = timeout.Get(context.Background(), time.Second, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		}, timeout.WithFallbackValue(func(context.Context, error) (int, error) { return 0, unavailable }))
		if err != unavailable {
			t.Fatalf("err = %v, want the fallback's error", err)
		}
	})
}

// twice runs the rest of the pipeline a second time after a failure, as a
// retry would.
type twice struct{}

func (twice) Run(ctx context.Context, ex policy.Execution) error {
	if err := ex.Next(ctx); err == nil {
		return nil
	}
	return ex.Next(ctx)
}

func TestInsideARetryTheLimitBoundsEachAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := mustNew(t, time.Second)
		var budgets []time.Duration
		run := func(ctx context.Context) error {
			d, _ := ctx.Deadline()
			budgets = append(budgets, time.Until(d))
			return waitForDone(ctx)
		}

		inner := policy.MustNew("inner", twice{}, to)
		start := time.Now()
		if err := inner.Execute(context.Background(), run); !errors.Is(err, timeout.ErrTimeout) {
			t.Fatalf("err = %v, want a timeout", err)
		}
		if got := time.Since(start); got != 2*time.Second || budgets[0] != time.Second || budgets[1] != time.Second {
			t.Errorf("inside: took %v with budgets %v; want 1s per attempt, 2s in all", got, budgets)
		}

		budgets = nil
		outer := policy.MustNew("outer", to, twice{})
		start = time.Now()
		if err := outer.Execute(context.Background(), run); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the deadline", err)
		}
		if got := time.Since(start); got != time.Second || len(budgets) != 1 {
			t.Errorf("outside: took %v over %d attempts; want 1s for the whole execution, the second attempt not started", got, len(budgets))
		}
	})
}

func TestAPanicPassesThroughWithItsValue(t *testing.T) {
	defer func() {
		if v := recover(); v != "kaboom" {
			t.Fatalf("recovered %v, want the function's own panic value", v)
		}
	}()
	_ = mustNew(t, time.Second).Execute(context.Background(), func(context.Context) error { panic("kaboom") })
	t.Fatal("Execute returned; want it to panic")
}

func TestConcurrentExecutionsAreIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := mustNew(t, time.Second)
		var wg sync.WaitGroup
		errs := make([]error, 64)
		for i := range errs {
			wg.Go(func() {
				errs[i] = to.Execute(context.Background(), func(ctx context.Context) error {
					if i%2 == 0 {
						return waitForDone(ctx)
					}
					return nil
				})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if want := i%2 == 0; errors.Is(err, timeout.ErrTimeout) != want {
				t.Errorf("execution %d: err = %v, want timeout %v", i, err, want)
			}
		}
	})
}
