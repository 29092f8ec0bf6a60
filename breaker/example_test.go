package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/policy"
)

// A breaker in a pipeline: after two failures in a row it opens, and rejects
// calls without running them until its cooldown has passed.
func ExampleNew() {
	cb, err := breaker.New("payments", breaker.Config{FailureThreshold: 2, Cooldown: 30 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	p := policy.MustNew("payments", cb)
	charge := func(context.Context) error { return errors.New("connection refused") }

	for i := range 3 {
		err := p.Execute(context.Background(), charge)
		var open *breaker.OpenError
		if errors.As(err, &open) {
			fmt.Printf("call %d: rejected by %q, %s, retry after %v\n",
				i+1, open.Name, open.State, open.RetryAfter().Round(time.Second))
			continue
		}
		fmt.Printf("call %d: %v\n", i+1, err)
	}
	// Output:
	// call 1: connection refused
	// call 2: connection refused
	// call 3: rejected by "payments", open, retry after 30s
}

// A sliding window trips on the rate of failures rather than on a run of
// them: here, half of the last 4 calls.
func ExampleWindow() {
	cb, err := breaker.New("search", breaker.Config{
		Window: &breaker.Window{Size: 4, FailureRateThreshold: 0.5},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, failed := range []bool{false, true, false, true} {
		cb.Execute(context.Background(), func(context.Context) error {
			if failed {
				return errors.New("503")
			}
			return nil
		})
	}
	st := cb.Status()
	fmt.Println(st.State, st.OpenedAt.IsZero())
	// Output:
	// open false
}

// The breaker alone, around a function.
func ExampleBreaker_Execute() {
	cb, err := breaker.New("inventory", breaker.Config{FailureThreshold: 1})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	err = cb.Execute(ctx, func(context.Context) error { return errors.New("timeout") })
	fmt.Println(err, cb.State())
	err = cb.Execute(ctx, func(context.Context) error { return nil })
	fmt.Println(errors.Is(err, breaker.ErrOpen), errors.Is(err, policy.ErrRejected))
	// Output:
	// timeout open
	// true true
}

// Allow protects code that does not fit in a function: the permit's Done
// takes the outcome, and frees what the call holds.
func ExampleBreaker_Allow() {
	cb, err := breaker.New("ledger", breaker.Config{})
	if err != nil {
		log.Fatal(err)
	}
	permit, err := cb.Allow()
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	err = errors.New("disk full") // the outcome of the protected work
	permit.Done(err)
	permit.Done(err) // a second Done does nothing
	fmt.Println("failures:", cb.Failures())
	// Output:
	// failures: 1
}

// CanExecute and its records, for code that cannot hold a permit between
// the start and the end of a call.
func ExampleBreaker_CanExecute() {
	cb, err := breaker.New("my_service", breaker.Config{FailureThreshold: 5})
	if err != nil {
		log.Fatal(err)
	}
	callService := func() error { return errors.New("refused") }

	if cb.CanExecute() {
		if err := callService(); err != nil {
			cb.RecordFailure(err)
		} else {
			cb.RecordSuccess()
		}
	}
	fmt.Println(cb.State(), cb.Failures())
	// Output:
	// closed 1
}

// Listeners hear of every change of state, with the counts that led to it.
func ExampleBreaker_OnStateChange() {
	cb, err := breaker.New("mail", breaker.Config{FailureThreshold: 2})
	if err != nil {
		log.Fatal(err)
	}
	unsubscribe := cb.OnStateChange(func(c breaker.StateChange) {
		fmt.Printf("%s: %s → %s after %d failures\n", c.Name, c.From, c.To, c.Failures)
	})
	defer unsubscribe()
	for range 2 {
		cb.Execute(context.Background(), func(context.Context) error { return errors.New("bounced") })
	}
	cb.Reset()
	// Output:
	// mail: closed → open after 2 failures
	// mail: open → closed after 0 failures
}

// Breakers shared by name: every Get of one name returns the same breaker.
// The package-level Get, All, ResetAll and Execute do the same on a default
// registry.
func Example_registry() {
	var reg breaker.Registry
	claude, _ := reg.Get("agent_claude", breaker.Config{FailureThreshold: 8})
	same, _ := reg.Get("agent_claude", breaker.Config{}) // the config applies on creation only
	fmt.Println(claude == same)

	err := reg.Execute(context.Background(), "agent_gpt", func(context.Context) error {
		return nil
	})
	fmt.Println(err)
	for _, cb := range reg.All() {
		fmt.Println(cb.Name(), cb.State())
	}
	reg.ResetAll() // for tests
	// Output:
	// true
	// <nil>
	// agent_claude closed
	// agent_gpt closed
}

// A coarse clock shared by the breakers of a program whose time-based
// windows see many calls: each call reads it with an atomic load instead of
// the system clock. Stop it once its breakers are done.
func ExampleWithCoarseClock() {
	clock, err := breaker.NewCoarseClock(time.Millisecond)
	if err != nil {
		log.Fatal(err)
	}
	defer clock.Stop()
	cb, err := breaker.New("search", breaker.Config{Window: &breaker.Window{Duration: time.Minute}},
		breaker.WithCoarseClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	for range 3 {
		_ = cb.Execute(context.Background(), func(context.Context) error { return nil })
	}
	fmt.Println("calls in the window:", cb.Status().Calls)
	// Output:
	// calls in the window: 3
}
