package bulkhead_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/policy"
)

func ExampleNew() {
	b, err := bulkhead.New("search-index", bulkhead.Config{
		MaxConcurrent: 2,                     // two searches at once
		MaxQueue:      1,                     // one more may wait
		MaxWait:       50 * time.Millisecond, // for at most 50ms
	})
	if err != nil {
		panic(err)
	}
	p := policy.MustNew("search", b)

	// Two long searches take both permits.
	started, finish := make(chan struct{}), make(chan struct{})
	for range 2 {
		go p.Execute(context.Background(), func(context.Context) error {
			started <- struct{}{}
			<-finish
			return nil
		})
		<-started
	}

	// A third waits its 50ms in the queue, in vain.
	err = p.Execute(context.Background(), func(context.Context) error { return nil })
	fmt.Println(err)
	fmt.Println(errors.Is(err, bulkhead.ErrWaitTimeout), errors.Is(err, policy.ErrRejected))
	close(finish)
	// Output:
	// bulkhead: "search-index": no permit within 50ms
	// true true
}

func ExampleBulkhead_Acquire() {
	b, err := bulkhead.New("knowledge-store", bulkhead.Config{MaxConcurrent: 4, MaxQueue: 8})
	if err != nil {
		panic(err)
	}
	query := func(ctx context.Context) error {
		release, err := b.Acquire(ctx)
		if err != nil {
			return err // full, or ctx ended while waiting
		}
		defer release() // idempotent: an early release() is fine too
		fmt.Println("querying with", b.Stats().InFlight, "permit in use")
		return nil
	}
	if err := query(context.Background()); err != nil {
		fmt.Println(err)
	}
	fmt.Println("after:", b.Stats().InFlight)
	// Output:
	// querying with 1 permit in use
	// after: 0
}

func ExampleBulkhead_TryAcquire() {
	b, err := bulkhead.New("thumbnails", bulkhead.Config{MaxConcurrent: 1})
	if err != nil {
		panic(err)
	}
	render := func(name string) {
		if !b.TryAcquire() {
			fmt.Println(name, "served from cache: renderer busy")
			return
		}
		defer b.Release()
		fmt.Println(name, "rendered")
	}
	render("a.png")
	b.TryAcquire() // a long render elsewhere
	render("b.png")
	b.Release()
	// Output:
	// a.png rendered
	// b.png served from cache: renderer busy
}

func ExampleBulkhead_Stats() {
	b, err := bulkhead.New("payments", bulkhead.Config{MaxConcurrent: 4, MaxQueue: 10})
	if err != nil {
		panic(err)
	}
	b.TryAcquire()
	b.TryAcquire()
	b.TryAcquire()
	s := b.Stats()
	fmt.Printf("%d/%d in flight (%.0f%%), %d queued\n", s.InFlight, s.Limit, 100*s.Utilization(), s.Queued)
	// Output: 3/4 in flight (75%), 0 queued
}

func ExampleConfig_adaptive() {
	// Up to 100 calls at once while the backend keeps its usual latency;
	// down to 5 when its latency climbs.
	b, err := bulkhead.New("recommendations", bulkhead.Config{
		MaxConcurrent: 100,
		MaxQueue:      50,
		Adaptive:      &bulkhead.Adaptive{MinLimit: 5},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(b.Stats().Limit, b.Config().Adaptive.Window)
	// Output: 100 1s
}
