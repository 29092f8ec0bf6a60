package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/resilience/timeout"
)

func ExampleNew() {
	t, err := timeout.New(20 * time.Millisecond)
	if err != nil {
		panic(err)
	}
	err = t.Execute(context.Background(), func(ctx context.Context) error {
		select {
		case <-time.After(time.Second): // a slow upstream
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	fmt.Println(errors.Is(err, timeout.ErrTimeout), errors.Is(err, context.DeadlineExceeded))
	// Output: true true
}

func ExampleGet() {
	// Five seconds in production; an empty or cached answer when they run out.
	items, err := timeout.Get(context.Background(), 20*time.Millisecond,
		func(ctx context.Context) ([]string, error) {
			<-ctx.Done() // an upstream that never answers in time
			return nil, ctx.Err()
		},
		timeout.WithFallbackValue(func(context.Context, error) ([]string, error) {
			return []string{"cached"}, nil
		}))
	fmt.Println(items, err)
	// Output: [cached] <nil>
}
