package fallback_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/fallback"
	"github.com/aragora/resilience/policy"
)

// An open breaker is answered from the last price seen, while the failures
// of a closed breaker still reach the caller.
func ExampleNewValue() {
	brk, _ := breaker.New("prices", breaker.Config{})
	last := 41.5 // the cache of the last good answer
	cached, _ := fallback.NewValue(func(ctx context.Context, err error) (float64, error) {
		return last, nil
	}, fallback.WithPredicate(fallback.Rejected))
	p := policy.MustNew("prices", cached, brk)

	fetch := func(context.Context) (float64, error) { return 0, errors.New("upstream: 503") }
	_, err := policy.Get(context.Background(), p, fetch)
	fmt.Println("closed breaker:", err)

	brk.ForceOpen()
	price, err := policy.Get(context.Background(), p, fetch)
	fmt.Println("open breaker:", price, err)
	// Output:
	// closed breaker: upstream: 503
	// open breaker: 41.5 <nil>
}

func ExampleNew() {
	quiet, _ := fallback.New(func(ctx context.Context, err error) error {
		fmt.Println("replaced:", err)
		return nil
	})
	err := quiet.Execute(context.Background(), func(context.Context) error {
		return errors.New("cache: miss")
	})
	fmt.Println("err:", err)
	// Output:
	// replaced: cache: miss
	// err: <nil>
}
