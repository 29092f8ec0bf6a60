package retry_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
)

func mustTokenBucket(t *testing.T, maxTokens, ratio float64) *retry.TokenBucket {
	t.Helper()
	b, err := retry.NewTokenBucket(maxTokens, ratio)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBudgetConstructorsRejectBadParameters(t *testing.T) {
	buckets := []struct{ maxTokens, ratio float64 }{
		{0, 0.1}, {-1, 0.1}, {1001, 0.1}, {math.NaN(), 0.1}, {math.Inf(1), 0.1},
		{10, 0}, {10, -0.1}, {10, 0.0004}, {10, 11}, {10, math.NaN()},
	}
	for _, b := range buckets {
		if _, err := retry.NewTokenBucket(b.maxTokens, b.ratio); err == nil {
			t.Errorf("NewTokenBucket(%v, %v) succeeded, want an error", b.maxTokens, b.ratio)
		}
	}
	if b := mustTokenBucket(t, 1000, 0.001); b.Tokens() != 1000 {
		t.Errorf("a new bucket holds %v tokens, want maxTokens 1000", b.Tokens())
	}
	concurrency := []struct {
		percent float64
		min     int
	}{{-1, 3}, {101, 3}, {math.NaN(), 3}, {20, -1}, {0, 0}}
	for _, c := range concurrency {
		if _, err := retry.NewConcurrencyBudget(c.percent, c.min); err == nil {
			t.Errorf("NewConcurrencyBudget(%v, %v) succeeded, want an error", c.percent, c.min)
		}
	}
	for _, c := range []struct {
		percent float64
		min     int
	}{{0, 1}, {100, 0}, {20, 3}} {
		if _, err := retry.NewConcurrencyBudget(c.percent, c.min); err != nil {
			t.Errorf("NewConcurrencyBudget(%v, %v) = %v, want a budget", c.percent, c.min, err)
		}
	}
}

// TestTokenBucketKeepsRetriesWithinItsShare runs a thousand executions
// against a dependency that fails everything, alone and amid healthy traffic
// on the same budget. Without a budget each failing execution makes 3
// retries; with gRPC's (10, 0.1) bucket, the retries are bounded by the
// tokens above the threshold plus what the successes earn: maxTokens/2 +
// tokenRatio × successes.
func TestTokenBucketKeepsRetriesWithinItsShare(t *testing.T) {
	tests := []struct {
		name       string
		failEveryN int // execution i fails when i%failEveryN == 0
	}{
		{"sustained failure", 1},
		{"one dependency failing in ten", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				budget := mustTokenBucket(t, 10, 0.1)
				p := pipeline(t, mustNew(t, retry.Config{}, retry.WithBudget(budget)))
				var retries, successes, failing int
				for i := range 1000 {
					fails := i%tt.failEveryN == 0
					if fails {
						failing++
					}
					err := p.Execute(context.Background(), func(ctx context.Context) error {
						if policy.Attempt(ctx) > 1 {
							retries++
						}
						if fails {
							return errFlaky
						}
						successes++
						return nil
					})
					if fails && err == nil {
						t.Fatal("a failing execution succeeded")
					}
				}
				bound := 10/2 + 0.1*float64(successes)
				if float64(retries) > bound {
					t.Errorf("%d retries for %d failing executions, want at most %v", retries, failing, bound)
				}
				if retries == 0 {
					t.Errorf("no retry at all: the budget must allow its share")
				}
				t.Logf("%d retries for %d failing executions (%d without a budget); %v tokens left", retries, failing, 3*failing, budget.Tokens())
			})
		})
	}
}

func TestTokenBucketAccounting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		budget := mustTokenBucket(t, 4, 0.5)
		opts := retry.WithBudget(budget)
		cfg := retry.Config{MaxRetries: 1}
		run := func(errs ...error) error {
			return retry.Do(context.Background(), cfg, failing(errs...).run, opts)
		}
		steps := []struct {
			name   string
			errs   []error
			tokens float64
		}{
			{"a success on a full bucket", nil, 4},
			{"a failure then a success", []error{errFlaky}, 3.5},
			{"an error not worth retrying costs nothing", []error{retry.Permanent(errFlaky)}, 3.5},
			{"but pushback that says not to retry does", []error{pushback{-1}}, 2.5},
			{"a rejection costs nothing", []error{rejection{}}, 2.5},
			{"below the threshold, no retry", []error{errFlaky, errFlaky}, 1.5},
			{"the floor is zero", []error{errFlaky}, 0.5},
			{"", []error{errFlaky}, 0},
			{"", []error{errFlaky}, 0},
			{"successes refill", nil, 0.5},
		}
		for _, s := range steps {
			_ = run(s.errs...)
			if got := budget.Tokens(); got != s.tokens {
				t.Errorf("%s: %v tokens, want %v", s.name, got, s.tokens)
			}
		}
		for range 3 {
			_ = run()
		}
		if err := run(errFlaky); err != errFlaky {
			t.Errorf("at 2 tokens, err = %v, want the error itself: the budget refused the retry", err)
		}
		for range 7 {
			_ = run()
		}
		if got := budget.Tokens(); got != 4 {
			t.Errorf("%v tokens, want the full 4, never more", got)
		}
		if err := run(errFlaky); err != nil {
			t.Errorf("at 4 tokens, err = %v, want the retry allowed", err)
		}
	})
}

// TestConcurrencyBudgetKeepsConcurrentRetriesWithinItsShare starts a
// thousand executions at once against a dependency that fails everything,
// and checks at each retry decision that the retries in progress (from their
// decision to the end of their attempt) are at most 20% of the executions in
// progress, or 3.
func TestConcurrencyBudgetKeepsConcurrentRetriesWithinItsShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		budget, err := retry.NewConcurrencyBudget(20, 3)
		if err != nil {
			t.Fatal(err)
		}
		var execs, retrying, retries, violations atomic.Int64
		p := pipeline(t, mustNew(t, retry.Config{}, retry.WithBudget(budget),
			retry.WithOnRetry(func(string, int, time.Duration) {
				retries.Add(1)
				if n := retrying.Add(1); float64(n) > max(3, 0.2*float64(execs.Load())) {
					violations.Add(1)
				}
			})))
		var wg sync.WaitGroup
		for range 1000 {
			wg.Go(func() {
				execs.Add(1)
				defer execs.Add(-1)
				_ = p.Execute(context.Background(), func(ctx context.Context) error {
					if policy.Attempt(ctx) > 1 {
						defer retrying.Add(-1)
					}
					time.Sleep(10 * time.Millisecond) // the dependency's latency
					return errFlaky
				})
			})
		}
		wg.Wait()
		if violations.Load() != 0 {
			t.Errorf("%d retries decided beyond the budget's share", violations.Load())
		}
		if r := retries.Load(); r == 0 || r > 3000/4 {
			t.Errorf("%d retries, want some, and far fewer than the 3000 made without a budget", r)
		}
		if e, r := budget.InFlight(); e != 0 || r != 0 {
			t.Errorf("in flight after the executions: %d executions, %d retries; want none", e, r)
		}
		t.Logf("%d retries for 1000 failing executions", retries.Load())
	})
}

func TestALoneCallerHasTheMinimumRetryConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		budget, _ := retry.NewConcurrencyBudget(0, 1)
		f := failing(errFlaky, errFlaky)
		if err := retry.Do(context.Background(), retry.Config{}, f.run, retry.WithBudget(budget)); err != nil || f.calls != 3 {
			t.Errorf("err = %v after %d calls, want the retries allowed one at a time", err, f.calls)
		}
	})
}

func TestABudgetIsReleasedWhenTheCallerCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		budget, _ := retry.NewConcurrencyBudget(20, 3)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		err := retry.Do(ctx, retry.Config{}, failing(times(10, errFlaky)...).run, retry.WithBudget(budget))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if e, r := budget.InFlight(); e != 0 || r != 0 {
			t.Errorf("in flight after a cancelled wait: %d executions, %d retries; want none", e, r)
		}
	})
}

func TestABudgetRefusalEndsWithTheLastError(t *testing.T) {
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				budget := mustTokenBucket(t, 2, 0.1) // threshold 1: one failure empties it
				var exhausted bool
				f := failing(errFlaky, errFlaky)
				err := rn.run(t, context.Background(), retry.Config{}, f.run, retry.WithBudget(budget),
					retry.WithOnExhausted(func(string, int) { exhausted = true }))
				if err != errFlaky || f.calls != 1 || exhausted {
					t.Errorf("err = %v after %d calls (exhausted listener called: %v); want the first error, unwrapped, and no exhaustion", err, f.calls, exhausted)
				}
			})
		})
	}
}
