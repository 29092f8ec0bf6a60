package bench_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/failsafe-go/failsafe-go"
	fscircuitbreaker "github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/sony/gobreaker/v2"
)

// Every breaker here opens after 5 consecutive failures and stays open an
// hour: the default trip rule of each, with a cooldown no benchmark outlives.

func newBreaker(b *testing.B) *breaker.Breaker {
	return must(breaker.New("bench", breaker.Config{Cooldown: time.Hour}))
}

func newGobreaker() *gobreaker.CircuitBreaker[struct{}] {
	return gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{Name: "bench", Timeout: time.Hour,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 5 }})
}

func newFailsafeBreaker() fscircuitbreaker.CircuitBreaker[any] {
	return fscircuitbreaker.NewBuilder[any]().WithFailureThreshold(5).WithDelay(time.Hour).Build()
}

// gobreakerCall adapts work to gobreaker's Execute.
func gobreakerCall(ctx context.Context) func() (struct{}, error) {
	return func() (struct{}, error) { return struct{}{}, op(ctx) }
}

// BenchmarkBreakerClosed: a closed breaker admits the call, runs it, and
// counts its success. Ours runs in a pipeline with telemetry off.
func BenchmarkBreakerClosed(b *testing.B) {
	compare(b,
		simple("floor-direct", func(*testing.B) func(context.Context) error { return op }),
		simple("resilience", func(b *testing.B) func(context.Context) error {
			p := off(b, newBreaker(b))
			return func(ctx context.Context) error { return p.Execute(ctx, op) }
		}),
		simple("gobreaker", func(*testing.B) func(context.Context) error {
			cb := newGobreaker()
			return func(ctx context.Context) error {
				_, err := cb.Execute(gobreakerCall(ctx))
				return err
			}
		}),
		simple("failsafe-go", func(*testing.B) func(context.Context) error {
			ex := failsafe.With[any](newFailsafeBreaker())
			return func(ctx context.Context) error {
				return ex.WithContext(ctx).RunWithExecution(func(e failsafe.Execution[any]) error { return op(e.Context()) })
			}
		}),
	)
}

// BenchmarkBreakerOpen: an open breaker rejects the call without running it.
// Each breaker was opened by 5 failures, and is rejected with its error.
func BenchmarkBreakerOpen(b *testing.B) {
	compare(b,
		rejected("resilience", func(b *testing.B) func(context.Context) error {
			cb := newBreaker(b)
			p := off(b, cb)
			for range 5 {
				_ = p.Execute(context.Background(), func(context.Context) error { return errFlaky })
			}
			if cb.State() != breaker.Open {
				b.Fatalf("breaker is %v, want open", cb.State())
			}
			return func(ctx context.Context) error { return p.Execute(ctx, op) }
		}),
		rejected("gobreaker", func(b *testing.B) func(context.Context) error {
			cb := newGobreaker()
			for range 5 {
				_, _ = cb.Execute(func() (struct{}, error) { return struct{}{}, errFlaky })
			}
			if cb.State() != gobreaker.StateOpen {
				b.Fatalf("gobreaker is %v, want open", cb.State())
			}
			return func(ctx context.Context) error {
				_, err := cb.Execute(gobreakerCall(ctx))
				return err
			}
		}),
		rejected("failsafe-go", func(b *testing.B) func(context.Context) error {
			cb := newFailsafeBreaker()
			ex := failsafe.With[any](cb)
			for range 5 {
				_ = ex.Run(func() error { return errFlaky })
			}
			if !cb.IsOpen() {
				b.Fatalf("failsafe-go breaker is %v, want open", cb.State())
			}
			return func(ctx context.Context) error {
				return ex.WithContext(ctx).RunWithExecution(func(e failsafe.Execution[any]) error { return op(e.Context()) })
			}
		}),
	)
}

// BenchmarkBreakerPermit: a closed breaker's manual permit API, around a call
// the caller runs itself: ask for a permit, run the call, record its success.
func BenchmarkBreakerPermit(b *testing.B) {
	compare(b,
		simple("floor-atomic-add", func(*testing.B) func(context.Context) error {
			var n atomic.Int64
			return func(ctx context.Context) error {
				n.Add(1)
				return op(ctx)
			}
		}),
		simple("resilience", func(b *testing.B) func(context.Context) error {
			cb := newBreaker(b)
			return func(ctx context.Context) error {
				if !cb.CanExecute() {
					return breaker.ErrOpen
				}
				err := op(ctx)
				cb.RecordSuccess()
				return err
			}
		}),
		// The permit of Allow belongs to the call it admitted, as gobreaker's
		// and failsafe-go's do; CanExecute's records do not.
		simple("resilience-allow", func(b *testing.B) func(context.Context) error {
			cb := newBreaker(b)
			return func(ctx context.Context) error {
				permit, err := cb.Allow()
				if err != nil {
					return err
				}
				err = op(ctx)
				permit.Done(err)
				return err
			}
		}),
		simple("gobreaker-twostep", func(*testing.B) func(context.Context) error {
			cb := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{Name: "bench", Timeout: time.Hour})
			return func(ctx context.Context) error {
				done, err := cb.Allow()
				if err != nil {
					return err
				}
				err = op(ctx)
				done(err)
				return err
			}
		}),
		simple("failsafe-go", func(*testing.B) func(context.Context) error {
			cb := newFailsafeBreaker()
			return func(ctx context.Context) error {
				if !cb.TryAcquirePermit() {
					return fscircuitbreaker.ErrOpen
				}
				err := op(ctx)
				cb.RecordSuccess()
				return err
			}
		}),
	)
}

// BenchmarkBreakerPipelineCost: the fixed cost of a pipeline around one
// breaker, telemetry off, against the same breaker's manual path around the
// same call: CanExecute, the call, RecordSuccess. Target: ≤ 15 ns more.
func BenchmarkBreakerPipelineCost(b *testing.B) {
	compare(b,
		simple("floor-manual", func(b *testing.B) func(context.Context) error {
			cb := newBreaker(b)
			return func(ctx context.Context) error {
				if !cb.CanExecute() {
					return breaker.ErrOpen
				}
				err := op(ctx)
				cb.RecordSuccess()
				return err
			}
		}),
		simple("resilience", func(b *testing.B) func(context.Context) error {
			p := off(b, newBreaker(b))
			return func(ctx context.Context) error { return p.Execute(ctx, op) }
		}),
	)
}
