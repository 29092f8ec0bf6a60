package retry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// response is what an HTTP-like client returns: a status, with a nil error
// even when the status says the call failed.
type response struct{ status int }

// statuses returns a function that answers with the statuses in order, then
// 200, counting its calls.
func statuses(codes ...int) (fn func(context.Context) (response, error), calls *int) {
	calls = new(int)
	return func(context.Context) (response, error) {
		*calls++
		if *calls <= len(codes) {
			return response{codes[*calls-1]}, nil
		}
		return response{200}, nil
	}, calls
}

var unavailable = retry.WithRetryIfResult(func(r response) bool { return r.status == 503 })

// getters are the two ways to run a function with a value through a retry.
var getters = []struct {
	name string
	get  func(t *testing.T, cfg retry.Config, fn func(context.Context) (response, error), opts ...retry.Option) (response, error)
}{
	{"policy.Get", func(t *testing.T, cfg retry.Config, fn func(context.Context) (response, error), opts ...retry.Option) (response, error) {
		return policy.Get(context.Background(), pipeline(t, mustNew(t, cfg, opts...)), fn)
	}},
	{"retry.Get", func(_ *testing.T, cfg retry.Config, fn func(context.Context) (response, error), opts ...retry.Option) (response, error) {
		return retry.Get(context.Background(), cfg, fn, opts...)
	}},
}

func TestAResultCanAskForARetry(t *testing.T) {
	for _, g := range getters {
		t.Run(g.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fn, calls := statuses(503, 503)
				v, err := g.get(t, retry.Config{}, fn, unavailable)
				if err != nil || v.status != 200 || *calls != 3 {
					t.Errorf("got %v, %v after %d calls; want 200 on the third", v, err, *calls)
				}

				// A result the predicate accepts ends the execution at once.
				fn, calls = statuses(404)
				v, err = g.get(t, retry.Config{}, fn, unavailable)
				if err != nil || v.status != 404 || *calls != 1 {
					t.Errorf("got %v, %v after %d calls; want the 404 at once", v, err, *calls)
				}
			})
		})
	}
}

func TestRetriesExhaustedOnAResultReturnTheLastValue(t *testing.T) {
	for _, g := range getters {
		t.Run(g.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fn, calls := statuses(503, 503, 503, 503, 503)
				var heard int
				v, err := g.get(t, retry.Config{MaxRetries: 2}, fn, unavailable,
					retry.WithOnExhausted(func(_ string, attempts int) { heard = attempts }))
				var ex *retry.ExhaustedError
				if !errors.As(err, &ex) || ex.Attempts != 3 || ex.Err != nil || !errors.Is(err, retry.ErrExhausted) {
					t.Fatalf("err = %v, want an *ExhaustedError of 3 attempts with a nil Err", err)
				}
				if v.status != 503 || *calls != 3 || heard != 3 {
					t.Errorf("value %v after %d calls, listener heard %d; want the last 503 after 3", v, *calls, heard)
				}
				if !strings.Contains(err.Error(), "3 attempts") || !strings.Contains(err.Error(), "result") {
					t.Errorf("err = %q, want it to say the last result asked for a retry", err)
				}
			})
		})
	}
}

func TestAnErrorIsRetriedWhateverTheResultPredicateSays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		v, err := retry.Get(context.Background(), retry.Config{}, func(context.Context) (response, error) {
			calls++
			if calls == 1 {
				return response{200}, errFlaky // the predicate is consulted only on success
			}
			return response{201}, nil
		}, unavailable)
		if err != nil || v.status != 201 || calls != 2 {
			t.Errorf("got %v, %v after %d calls; want the error retried", v, err, calls)
		}
	})
}

func TestAResultPredicateOfAnotherTypeIsAnError(t *testing.T) {
	calls := 0
	_, err := retry.Get(context.Background(), retry.Config{}, func(context.Context) (string, error) {
		calls++
		return "", nil
	}, unavailable)
	if err == nil || calls != 0 || !strings.Contains(err.Error(), "retry_test.response") || !strings.Contains(err.Error(), "string") {
		t.Errorf("Get[string] with a predicate on response = %v after %d calls; want an error naming both types, and no call", err, calls)
	}
	err = retry.Do(context.Background(), retry.Config{}, func(context.Context) error { calls++; return nil }, unavailable)
	if err == nil || calls != 0 || !strings.Contains(err.Error(), "retry.Get") {
		t.Errorf("Do with a result predicate = %v after %d calls; want an error pointing to Get, and no call", err, calls)
	}

	// policy.Get refuses it the same way, without a call; Execute, which has
	// no value, never consults it.
	synctest.Test(t, func(t *testing.T) {
		p := pipeline(t, mustNew(t, retry.Config{}, unavailable))
		_, err := policy.Get(context.Background(), p, func(context.Context) (string, error) { calls++; return "fine", nil })
		require.Error(t, err)
		assert.Contains(t, err.Error(), "retry_test.response")
		assert.Contains(t, err.Error(), "string")
		assert.Zero(t, calls)
		assert.NoError(t, p.Execute(context.Background(), func(context.Context) error { calls++; return nil }))
		assert.Equal(t, 1, calls)
	})
}

func TestALaterResultPredicateReplacesAnEarlierOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn, calls := statuses(503, 500)
		v, err := retry.Get(context.Background(), retry.Config{}, fn, unavailable,
			retry.WithRetryIfResult(func(r response) bool { return r.status == 500 }))
		if err != nil || v.status != 503 || *calls != 1 {
			t.Errorf("got %v, %v after %d calls; want the 503 accepted by the second predicate", v, err, *calls)
		}
	})
}

func TestAResultRetryEndsWithTheContextsErrorAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel)
		fn, calls := statuses(503, 503, 503)
		_, err := retry.Get(ctx, retry.Config{BaseDelay: time.Hour, Jitter: retry.NoJitter}, fn, unavailable)
		if err != context.Canceled || *calls != 1 {
			t.Errorf("cancelled: err = %v after %d calls; want context.Canceled alone after one", err, *calls)
		}

		ctx, cancel = context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		fn, calls = statuses(503, 503, 503)
		_, err = retry.Get(ctx, retry.Config{BaseDelay: time.Hour, Jitter: retry.NoJitter}, fn, unavailable)
		if !errors.Is(err, context.DeadlineExceeded) || *calls != 1 {
			t.Errorf("deadline: err = %v after %d calls; want context.DeadlineExceeded after one", err, *calls)
		}
	})
}

// TestAResultRetryAfterTheCallerGaveUpIsNoRetry cancels the caller's context
// during an attempt whose result asks for a retry: as with an error, the
// execution ends with the context's error, announces no retry and, on the
// last attempt, no exhaustion.
func TestAResultRetryAfterTheCallerGaveUpIsNoRetry(t *testing.T) {
	for _, maxRetries := range []int{3, retry.NoRetries} {
		for _, g := range []struct {
			name string
			get  func(ctx context.Context, r *retry.Retry, cfg retry.Config, fn func(context.Context) (response, error), opts ...retry.Option) (response, error)
		}{
			{"policy.Get", func(ctx context.Context, r *retry.Retry, _ retry.Config, fn func(context.Context) (response, error), _ ...retry.Option) (response, error) {
				return policy.Get(ctx, pipeline(t, r), fn)
			}},
			{"retry.Get", func(ctx context.Context, _ *retry.Retry, cfg retry.Config, fn func(context.Context) (response, error), opts ...retry.Option) (response, error) {
				return retry.Get(ctx, cfg, fn, opts...)
			}},
		} {
			t.Run(fmt.Sprintf("%s/MaxRetries=%d", g.name, maxRetries), func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				calls, retries, exhausted := 0, 0, 0
				fn := func(context.Context) (response, error) {
					calls++
					cancel() // the caller gives up while the call is under way
					return response{503}, nil
				}
				cfg := retry.Config{MaxRetries: maxRetries}
				opts := []retry.Option{unavailable,
					retry.WithOnRetry(func(string, int, time.Duration) { retries++ }),
					retry.WithOnExhausted(func(string, int) { exhausted++ })}
				_, err := g.get(ctx, mustNew(t, cfg, opts...), cfg, fn, opts...)
				if !errors.Is(err, context.Canceled) || errors.Is(err, retry.ErrExhausted) || calls != 1 || retries != 0 || exhausted != 0 {
					t.Errorf("err = %v after %d calls, %d retries announced, %d exhaustions; want context.Canceled after one call, and neither listener called",
						err, calls, retries, exhausted)
				}
			})
		}
	}
}
