package hedge_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aragora/resilience/hedge"
	"github.com/aragora/resilience/policy"
)

// A replica that answers slowly is hedged: after 50ms without an answer, a
// second attempt goes to another replica, and its answer wins.
func ExampleNew() {
	h, err := hedge.New(hedge.WithDelay(50 * time.Millisecond))
	if err != nil {
		panic(err)
	}
	p := policy.MustNew("search", h)

	replicas := []time.Duration{time.Second, 5 * time.Millisecond} // the first is slow
	answer, err := policy.Get(context.Background(), p, func(ctx context.Context) (string, error) {
		n := policy.Attempt(ctx)
		select {
		case <-time.After(replicas[n-1]):
			return fmt.Sprintf("answer from replica %d", n), nil
		case <-ctx.Done():
			return "", ctx.Err() // the loser is cancelled
		}
	})
	fmt.Println(answer, err)
	// Output: answer from replica 2 <nil>
}

// Losers that succeeded anyway hand their values to the discard hook, so
// that what they hold is released.
func ExampleWithDiscard() {
	h, err := hedge.New(hedge.WithDelay(10*time.Millisecond),
		hedge.WithDiscard(func(conn string) { fmt.Println("closed", conn) }))
	if err != nil {
		panic(err)
	}
	conn, err := hedge.Get(context.Background(), h, func(ctx context.Context) (string, error) {
		if policy.Attempt(ctx) == 1 {
			time.Sleep(30 * time.Millisecond) // ignores its context: succeeds late
			return "conn-1", nil
		}
		return "conn-2", nil
	})
	fmt.Println("using", conn, err)
	// Output:
	// closed conn-1
	// using conn-2 <nil>
}
