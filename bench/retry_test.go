package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/aragora/resilience/retry"
	retrygo "github.com/avast/retry-go/v4"
	"github.com/cenkalti/backoff/v5"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	goretry "github.com/sethvargo/go-retry"
)

// Every retry here makes at most 3 attempts, waits a constant 1µs between
// them (on a real timer, without jitter), and returns the last error.

const retryDelay = time.Microsecond

func newRetry(b *testing.B) *retry.Retry {
	return must(retry.New(retry.Config{MaxRetries: 2, BaseDelay: retryDelay,
		Strategy: retry.Constant, Jitter: retry.NoJitter}))
}

// retryContenders returns the retries of every library around the call that
// calls(), once per goroutine, returns.
func retryContenders(calls func() func(context.Context) error) []contender {
	each := func(name string, setup func(b *testing.B) func(call func(context.Context) error) func(context.Context) error) contender {
		return contender{name: name, setup: func(b *testing.B) func() func(context.Context) error {
			wrap := setup(b)
			return func() func(context.Context) error { return wrap(calls()) }
		}}
	}
	return []contender{
		each("resilience", func(b *testing.B) func(func(context.Context) error) func(context.Context) error {
			p := off(b, newRetry(b))
			return func(call func(context.Context) error) func(context.Context) error {
				return func(ctx context.Context) error { return p.Execute(ctx, call) }
			}
		}),
		each("resilience-do", func(*testing.B) func(func(context.Context) error) func(context.Context) error {
			cfg := retry.Config{MaxRetries: 2, BaseDelay: retryDelay, Strategy: retry.Constant, Jitter: retry.NoJitter}
			return func(call func(context.Context) error) func(context.Context) error {
				return func(ctx context.Context) error { return retry.Do(ctx, cfg, call) }
			}
		}),
		each("failsafe-go", func(*testing.B) func(func(context.Context) error) func(context.Context) error {
			ex := failsafe.With[any](retrypolicy.NewBuilder[any]().WithMaxRetries(2).WithDelay(retryDelay).
				ReturnLastFailure().Build())
			return func(call func(context.Context) error) func(context.Context) error {
				return func(ctx context.Context) error {
					return ex.WithContext(ctx).RunWithExecution(func(e failsafe.Execution[any]) error { return call(e.Context()) })
				}
			}
		}),
		each("cenkalti-backoff", func(*testing.B) func(func(context.Context) error) func(context.Context) error {
			return func(call func(context.Context) error) func(context.Context) error {
				return func(ctx context.Context) error {
					_, err := backoff.Retry(ctx, func() (struct{}, error) { return struct{}{}, call(ctx) },
						backoff.WithBackOff(backoff.NewConstantBackOff(retryDelay)), backoff.WithMaxTries(3))
					return err
				}
			}
		}),
		each("avast-retry-go", func(*testing.B) func(func(context.Context) error) func(context.Context) error {
			return func(call func(context.Context) error) func(context.Context) error {
				return func(ctx context.Context) error {
					return retrygo.Do(func() error { return call(ctx) }, retrygo.Context(ctx), retrygo.Attempts(3),
						retrygo.Delay(retryDelay), retrygo.DelayType(retrygo.FixedDelay), retrygo.LastErrorOnly(true))
				}
			}
		}),
		each("sethvargo-go-retry", func(*testing.B) func(func(context.Context) error) func(context.Context) error {
			return func(call func(context.Context) error) func(context.Context) error {
				return func(ctx context.Context) error {
					return goretry.Do(ctx, goretry.WithMaxRetries(2, goretry.NewConstant(retryDelay)), func(ctx context.Context) error {
						if err := call(ctx); err != nil {
							return goretry.RetryableError(err)
						}
						return nil
					})
				}
			}
		}),
	}
}

// BenchmarkRetryFirstTry: the call succeeds at once; the retry only watches.
func BenchmarkRetryFirstTry(b *testing.B) {
	compare(b, append([]contender{
		simple("floor-direct", func(*testing.B) func(context.Context) error { return op }),
	}, retryContenders(func() func(context.Context) error { return op })...)...)
}

// BenchmarkRetryTwoFailures: the call fails twice and succeeds on the third
// attempt, after two waits of 1µs. The floor is the loop a careful programmer
// writes by hand: one timer, reset for the second wait.
func BenchmarkRetryTwoFailures(b *testing.B) {
	compare(b, append([]contender{{name: "floor-hand-loop", setup: func(*testing.B) func() func(context.Context) error {
		return func() func(context.Context) error {
			call := failTwice()
			return func(ctx context.Context) error { return handLoop(ctx, call) }
		}
	}}}, retryContenders(failTwice)...)...)
}

// handLoop makes up to 3 attempts of call, 1µs apart, on one timer.
func handLoop(ctx context.Context, call func(context.Context) error) error {
	var t *time.Timer
	for attempt := 1; ; attempt++ {
		err := call(ctx)
		if err == nil || attempt == 3 || ctx.Err() != nil {
			if t != nil {
				t.Stop()
			}
			return err
		}
		if t == nil {
			t = time.NewTimer(retryDelay)
		} else {
			t.Reset(retryDelay)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}
