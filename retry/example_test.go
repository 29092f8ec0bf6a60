package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
)

var errUnavailable = errors.New("service unavailable")

func ExampleNew() {
	r, err := retry.New(retry.Config{
		MaxRetries: 3,
		BaseDelay:  time.Millisecond,
		Jitter:     retry.NoJitter, // exact delays, for the example's output
		RetryOn:    []error{errUnavailable},
	}, retry.WithOnRetry(func(operation string, attempt int, delay time.Duration) {
		fmt.Printf("%s: attempt %d in %v\n", operation, attempt, delay)
	}))
	if err != nil {
		panic(err)
	}
	p := policy.MustNew("inventory", r)

	err = p.Execute(context.Background(), func(ctx context.Context) error {
		if policy.Attempt(ctx) < 3 {
			return errUnavailable
		}
		fmt.Println("reserved on attempt", policy.Attempt(ctx))
		return nil
	})
	fmt.Println("err:", err)
	// Output:
	// inventory: attempt 2 in 1ms
	// inventory: attempt 3 in 2ms
	// reserved on attempt 3
	// err: <nil>
}

func ExampleDo() {
	calls := 0
	err := retry.Do(context.Background(), retry.Config{BaseDelay: time.Millisecond}, func(ctx context.Context) error {
		calls++
		if calls == 1 {
			return errUnavailable
		}
		return retry.Permanent(errors.New("invalid order")) // retrying will not help
	})
	fmt.Println(calls, "calls:", err)
	// Output: 2 calls: invalid order
}

func ExampleGet() {
	type response struct{ status int }
	statuses := []int{503, 503, 200}
	resp, err := retry.Get(context.Background(), retry.Config{BaseDelay: time.Millisecond},
		func(ctx context.Context) (response, error) {
			s := statuses[0]
			statuses = statuses[1:]
			return response{s}, nil
		},
		retry.WithRetryIfResult(func(r response) bool { return r.status == 503 }))
	fmt.Println(resp.status, err)
	// Output: 200 <nil>
}

func ExampleExhaustedError() {
	err := retry.Do(context.Background(), retry.Config{MaxRetries: 2, BaseDelay: time.Millisecond},
		func(context.Context) error { return errUnavailable })

	var exhausted *retry.ExhaustedError
	if errors.As(err, &exhausted) {
		fmt.Println("attempts:", exhausted.Attempts)
	}
	fmt.Println(errors.Is(err, retry.ErrExhausted), errors.Is(err, errUnavailable))
	fmt.Println(err)
	// Output:
	// attempts: 3
	// true true
	// retry: gave up after 3 attempts: service unavailable
}

func ExampleRetry_Delay() {
	r, _ := retry.New(retry.Config{BaseDelay: 100 * time.Millisecond, MaxDelay: 5 * time.Second, Jitter: retry.NoJitter})
	var schedule []time.Duration
	for n := 1; n <= 8; n++ {
		schedule = append(schedule, r.Delay(n, 0, nil))
	}
	fmt.Println(schedule)
	fmt.Println(r.Delay(10_000, 0, nil))
	// Output:
	// [100ms 200ms 400ms 800ms 1.6s 3.2s 5s 5s]
	// 5s
}

func ExampleNewTokenBucket() {
	// One budget for every policy that calls the same dependency: gRPC's
	// example throttling, which stops retries once about one attempt in
	// eleven fails.
	budget, err := retry.NewTokenBucket(10, 0.1)
	if err != nil {
		panic(err)
	}
	reads, _ := retry.New(retry.Config{BaseDelay: time.Millisecond}, retry.WithBudget(budget))
	writes, _ := retry.New(retry.Config{BaseDelay: time.Millisecond, MaxRetries: 1}, retry.WithBudget(budget))

	down := func(context.Context) error { return errUnavailable }
	for i := range 3 {
		r := reads
		if i%2 == 1 {
			r = writes
		}
		err := r.Execute(context.Background(), down)
		fmt.Printf("exhausted: %-5v tokens left: %v\n", errors.Is(err, retry.ErrExhausted), budget.Tokens())
	}
	// Output:
	// exhausted: true  tokens left: 6
	// exhausted: false tokens left: 5
	// exhausted: false tokens left: 4
}
