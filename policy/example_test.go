package policy_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aragora/resilience/policy"
)

// retryOnce is a policy: it runs the rest of the pipeline a second time when
// the first attempt fails, and reports that decision.
type retryOnce struct{}

func (retryOnce) Run(ctx context.Context, ex policy.Execution) error {
	err := ex.Next(ctx)
	if policy.OutcomeOf(err) != policy.Failure || ctx.Err() != nil {
		return err // success, rejection, panic, or a caller who gave up
	}
	ex.Report(policy.Event{Kind: policy.EventRetry, Attempt: 2, Err: err})
	return ex.Next(ctx)
}

func ExampleNew() {
	p, err := policy.New("inventory", retryOnce{})
	if err != nil {
		panic(err)
	}
	err = p.Execute(context.Background(), func(ctx context.Context) error {
		n := policy.Attempt(ctx)
		fmt.Println("attempt", n)
		if n == 1 {
			return errors.New("connection reset")
		}
		return nil
	})
	fmt.Println("err:", err)
	// Output:
	// attempt 1
	// attempt 2
	// err: <nil>
}

func ExampleGet() {
	p := policy.MustNew("prices", retryOnce{})
	price, err := policy.Get(context.Background(), p, func(ctx context.Context) (float64, error) {
		return 9.99, nil
	})
	fmt.Println(price, err)
	// Output: 9.99 <nil>
}

func ExamplePipeline_Execute_panic() {
	p := policy.MustNew("risky", retryOnce{})
	defer func() {
		fmt.Println("recovered:", recover())
	}()
	_ = p.Execute(context.Background(), func(context.Context) error {
		panic("out of range")
	})
	// Output: recovered: out of range
}
