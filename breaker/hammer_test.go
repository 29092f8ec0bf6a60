package breaker_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/policy"
)

// TestHalfOpenHammer runs 64 goroutines against a breaker that never closes,
// so that every call it admits is a trial, through the three ways in (a
// pipeline, Execute, Allow), with successes, failures, panics and canceled
// calls. It checks that no more than HalfOpenMaxRequests trials ever run at
// once, and that every call is accounted for: admitted and ended, or
// rejected; and that no slot is left held.
func TestHalfOpenHammer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			goroutines = 64
			calls      = 200
			maxTrials  = 3
		)
		b := newBreaker(t, breaker.Config{
			FailureThreshold:    1,
			SuccessThreshold:    1 << 20, // never closes: every admitted call is a trial
			HalfOpenMaxRequests: maxTrials,
			Cooldown:            100 * time.Microsecond,
		})
		p := policy.MustNew("hammer", b)
		trip(t, b, 1)
		time.Sleep(time.Millisecond)

		var running, peak, admitted, ended, rejected atomic.Int64
		body := func(ctx context.Context, outcome int) error {
			admitted.Add(1)
			n := running.Add(1)
			defer running.Add(-1)
			defer ended.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(time.Duration(outcome) * time.Microsecond)
			switch outcome % 32 {
			case 0:
				return errBoom // reopens
			case 1:
				panic("boom") // reopens
			case 2, 3, 4:
				return context.Canceled
			}
			return nil
		}

		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 1))
				for range calls {
					outcome := rng.IntN(64)
					var err error
					func() {
						defer func() { _ = recover() }() // the panicking outcome
						switch g % 3 {
						case 0:
							err = p.Execute(context.Background(), func(ctx context.Context) error { return body(ctx, outcome) })
						case 1:
							err = b.Execute(context.Background(), func(ctx context.Context) error { return body(ctx, outcome) })
						case 2:
							permit, aerr := b.Allow()
							if err = aerr; err != nil {
								return
							}
							var berr error
							defer func() { permit.Done(berr) }()
							defer func() {
								if v := recover(); v != nil {
									berr = &policy.PanicError{Value: v}
								}
							}()
							berr = body(context.Background(), outcome)
						}
					}()
					if errors.Is(err, policy.ErrRejected) {
						if !errors.Is(err, breaker.ErrOpen) && !errors.Is(err, breaker.ErrHalfOpenFull) {
							t.Errorf("rejection %v matches neither ErrOpen nor ErrHalfOpenFull", err)
						}
						rejected.Add(1)
					}
					time.Sleep(time.Duration(rng.IntN(100)) * time.Microsecond)
				}
			})
		}
		wg.Wait()

		t.Logf("peak %d, admitted %d, rejected %d", peak.Load(), admitted.Load(), rejected.Load())
		if got := peak.Load(); got > maxTrials {
			t.Fatalf("%d trials ran at once, the cap is %d", got, maxTrials)
		}
		if peak.Load() < 2 {
			t.Fatalf("at most %d trial ran at once: the hammer did not overlap calls", peak.Load())
		}
		if a, e, r := admitted.Load(), ended.Load(), rejected.Load(); a != e || a+r != goroutines*calls {
			t.Fatalf("%d admitted, %d ended, %d rejected, of %d calls", a, e, r, goroutines*calls)
		}
		if admitted.Load() == 0 || rejected.Load() == 0 {
			t.Fatalf("%d admitted, %d rejected: want both", admitted.Load(), rejected.Load())
		}
		if got := b.Status().Trials; got != 0 {
			t.Fatalf("%d trial slots still held once every call ended", got)
		}
		// No slot leaked: a fresh half-open state admits exactly the cap.
		b.Reset()
		trip(t, b, 1)
		time.Sleep(time.Hour)
		for i := range maxTrials {
			if _, err := b.Allow(); err != nil {
				t.Fatalf("trial %d refused after the hammer: %v", i+1, err)
			}
		}
		if _, err := b.Allow(); !errors.Is(err, breaker.ErrHalfOpenFull) {
			t.Fatalf("a trial beyond the cap: %v", err)
		}
	})
}
