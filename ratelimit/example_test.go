package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/resilience/ratelimit"
)

func ExampleNew() {
	// Three calls at once, then one every 100ms.
	bucket, _ := ratelimit.NewTokenBucket(ratelimit.PerSecond(10), 3)
	limit, _ := ratelimit.New("partner-api", bucket)

	call := func(context.Context) error { return nil }
	for i := 1; i <= 4; i++ {
		err := limit.Execute(context.Background(), call)
		var re *ratelimit.RejectedError
		if errors.As(err, &re) {
			fmt.Printf("call %d refused: retry after %v\n", i, re.RetryAfter().Round(10*time.Millisecond))
			continue
		}
		fmt.Printf("call %d: %v\n", i, err)
	}
	// Output:
	// call 1: <nil>
	// call 2: <nil>
	// call 3: <nil>
	// call 4 refused: retry after 100ms
}

func ExampleNewKeyed() {
	perTenant, _ := ratelimit.NewKeyed(ratelimit.PerSecond(1), 1, 1000)
	limit, _ := ratelimit.New("tenants", perTenant)
	call := func(context.Context) error { return nil }

	for _, tenant := range []string{"a", "a", "b"} {
		ctx := ratelimit.ContextWithKey(context.Background(), tenant)
		err := limit.Execute(ctx, call)
		fmt.Println(tenant, errors.Is(err, ratelimit.ErrRateLimited))
	}
	// Output:
	// a false
	// a true
	// b false
}
