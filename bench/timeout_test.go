package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/aragora/resilience/timeout"
	"github.com/failsafe-go/failsafe-go"
	fstimeout "github.com/failsafe-go/failsafe-go/timeout"
)

// BenchmarkTimeout: the call runs under a time limit of one second, which it
// never reaches; its context carries the deadline.
func BenchmarkTimeout(b *testing.B) {
	compare(b,
		simple("floor-context-with-timeout", func(*testing.B) func(context.Context) error {
			return withTimeout
		}),
		simple("resilience", func(b *testing.B) func(context.Context) error {
			p := off(b, must(timeout.New(time.Second)))
			return func(ctx context.Context) error { return p.Execute(ctx, op) }
		}),
		simple("failsafe-go", func(*testing.B) func(context.Context) error {
			ex := failsafe.With[any](fstimeout.New[any](time.Second))
			return func(ctx context.Context) error {
				return ex.WithContext(ctx).RunWithExecution(func(e failsafe.Execution[any]) error { return op(e.Context()) })
			}
		}),
	)
}

// withTimeout is the floor of every time limit: a context with a deadline,
// and its cancel.
func withTimeout(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return op(ctx)
}
