package bulkhead_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/policy"
)

func mustNew(t testing.TB, name string, cfg bulkhead.Config, opts ...bulkhead.Option) *bulkhead.Bulkhead {
	t.Helper()
	b, err := bulkhead.New(name, cfg, opts...)
	if err != nil {
		t.Fatalf("New(%q, %+v): %v", name, cfg, err)
	}
	return b
}

// wantIdle fails the test unless b has no permit in use and no call waiting.
func wantIdle(t testing.TB, b *bulkhead.Bulkhead) {
	t.Helper()
	if s := b.Stats(); s.InFlight != 0 || s.Queued != 0 {
		t.Errorf("Stats() = %+v, want no permit in use and no call waiting", s)
	}
}

// hold takes n permits with TryAcquire, failing the test if one is refused.
func hold(t testing.TB, b *bulkhead.Bulkhead, n int) {
	t.Helper()
	for i := range n {
		if !b.TryAcquire() {
			t.Fatalf("TryAcquire %d of %d refused", i+1, n)
		}
	}
}

func TestNameAndPolicy(t *testing.T) {
	b := mustNew(t, "orders-db", bulkhead.Config{})
	if got := b.Name(); got != "orders-db" {
		t.Errorf("Name() = %q, want orders-db", got)
	}
	var _ policy.Policy = b
}

func TestAdmitsUpToMaxConcurrentThenRefuses(t *testing.T) {
	b := mustNew(t, "b", bulkhead.Config{MaxConcurrent: 2})
	hold(t, b, 2)
	called := false
	err := b.Execute(context.Background(), func(context.Context) error {
		called = true
		return nil
	})
	if called {
		t.Error("the function ran in a full bulkhead")
	}
	var re *bulkhead.RejectedError
	switch {
	case !errors.Is(err, bulkhead.ErrFull):
		t.Errorf("error %v does not match ErrFull", err)
	case !errors.Is(err, policy.ErrRejected):
		t.Errorf("error %v does not match policy.ErrRejected", err)
	case errors.Is(err, bulkhead.ErrWaitTimeout):
		t.Errorf("error %v of a full queue matches ErrWaitTimeout", err)
	case !errors.As(err, &re):
		t.Errorf("error %v is not a *RejectedError", err)
	case re.Bulkhead != "b" || re.Reason() != bulkhead.ReasonQueueFull:
		t.Errorf("RejectedError = %+v (reason %q), want bulkhead b, reason queue_full", re, re.Reason())
	case policy.ErrorType(err) != "bulkhead_full":
		t.Errorf("ErrorType = %q, want bulkhead_full", policy.ErrorType(err))
	case policy.OutcomeOf(err) != policy.Rejected:
		t.Errorf("OutcomeOf = %v, want rejected", policy.OutcomeOf(err))
	}
	if s := b.Stats(); s.Rejected != 1 || s.InFlight != 2 {
		t.Errorf("Stats() = %+v, want 2 in flight and 1 rejected", s)
	}
	b.Release()
	if err := b.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
		t.Errorf("Execute after a Release: %v", err)
	}
	b.Release()
	wantIdle(t, b)
}

func TestReleasesPermitHoweverTheCallEnds(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		fn      func(context.Context) error
		ctx     func() context.Context
		wantErr error
		panics  bool
	}{
		{name: "success", fn: func(context.Context) error { return nil }},
		{name: "error", fn: func(context.Context) error { return boom }, wantErr: boom},
		{name: "panic", fn: func(context.Context) error { panic("kaboom") }, panics: true},
		{name: "panic with an error", fn: func(context.Context) error { panic(boom) }, panics: true},
		{
			name: "cancelled context",
			fn:   func(ctx context.Context) error { return ctx.Err() },
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			wantErr: context.Canceled,
		},
	}
	for _, tt := range tests {
		for _, adaptive := range []bool{false, true} {
			cfg := bulkhead.Config{MaxConcurrent: 1}
			name := tt.name
			if adaptive {
				cfg.Adaptive = &bulkhead.Adaptive{}
				name += "/adaptive"
			}
			t.Run(name, func(t *testing.T) {
				b := mustNew(t, "b", cfg)
				ctx := context.Background()
				if tt.ctx != nil {
					ctx = tt.ctx()
				}
				var recovered any
				func() {
					defer func() { recovered = recover() }()
					err := b.Execute(ctx, tt.fn)
					if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
						t.Errorf("Execute = %v, want %v", err, tt.wantErr)
					}
				}()
				if (recovered != nil) != tt.panics {
					t.Errorf("recovered %v; want a panic: %v", recovered, tt.panics)
				}
				wantIdle(t, b)
				if !b.TryAcquire() {
					t.Fatal("the permit was not released")
				}
				b.Release()
			})
		}
	}
}

func TestPolicyGetThroughBulkhead(t *testing.T) {
	b := mustNew(t, "b", bulkhead.Config{MaxConcurrent: 1})
	p := policy.MustNew("p", b)
	v, err := policy.Get(context.Background(), p, func(context.Context) (int, error) { return 42, nil })
	if v != 42 || err != nil {
		t.Errorf("Get = %d, %v; want 42, nil", v, err)
	}
	hold(t, b, 1)
	_, err = policy.Get(context.Background(), p, func(context.Context) (int, error) { return 42, nil })
	if !errors.Is(err, bulkhead.ErrFull) {
		t.Errorf("Get in a full bulkhead: %v, want ErrFull", err)
	}
	b.Release()
	wantIdle(t, b)
}

func TestAcquireReleaseIsIdempotent(t *testing.T) {
	b := mustNew(t, "b", bulkhead.Config{MaxConcurrent: 2})
	release, err := b.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hold(t, b, 1) // another holder, whose permit a second release must not free
	release()
	release()
	func() { defer release() }()
	if got := b.Stats().InFlight; got != 1 {
		t.Errorf("InFlight = %d after releasing one of two permits three times, want 1", got)
	}
	b.Release()
	wantIdle(t, b)
}

func TestAcquireConcurrentReleasesFreeOnePermit(t *testing.T) {
	b := mustNew(t, "b", bulkhead.Config{MaxConcurrent: 2})
	release, err := b.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hold(t, b, 1)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(release)
	}
	wg.Wait()
	if got := b.Stats().InFlight; got != 1 {
		t.Errorf("InFlight = %d after 8 concurrent calls of one release, want 1", got)
	}
	b.Release()
}

func TestAcquireInFullBulkhead(t *testing.T) {
	b := mustNew(t, "b", bulkhead.Config{MaxConcurrent: 1})
	hold(t, b, 1)
	release, err := b.Acquire(context.Background())
	if !errors.Is(err, bulkhead.ErrFull) || release != nil {
		t.Errorf("Acquire = %p, %v; want nil, ErrFull", release, err)
	}
	b.Release()
}

func TestReleaseWithoutPermitPanics(t *testing.T) {
	b := mustNew(t, "b", bulkhead.Config{})
	defer func() {
		if recover() == nil {
			t.Error("Release without a permit did not panic")
		}
	}()
	b.Release()
}

func TestPanicInAcquiredSectionReleasesWithDefer(t *testing.T) {
	b := mustNew(t, "b", bulkhead.Config{MaxConcurrent: 1})
	func() {
		defer func() { _ = recover() }()
		release, err := b.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		panic("in the protected section")
	}()
	wantIdle(t, b)
}

// TestHammerNeverExceedsLimit runs 64 goroutines that take permits every way
// there is, some with contexts that end while they wait, and checks that the
// number of holders never exceeds the limit (the ceiling, for an adaptive
// bulkhead, whose limit moves meanwhile) and that every permit comes back.
func TestHammerNeverExceedsLimit(t *testing.T) {
	const (
		limit   = 8
		workers = 64
		rounds  = 300
	)
	tests := []struct {
		name string
		cfg  bulkhead.Config
	}{
		{"fixed", bulkhead.Config{MaxConcurrent: limit, MaxQueue: 24}},
		{"adaptive", bulkhead.Config{MaxConcurrent: limit, MaxQueue: 24,
			Adaptive: &bulkhead.Adaptive{MinLimit: 2, Window: time.Millisecond, MinSamples: 5, Smoothing: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustNew(t, "hammer", tt.cfg)
			var holders, peak, admitted, refused atomic.Int64
			critical := func() {
				n := holders.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				if n > limit {
					t.Errorf("%d holders, limit %d", n, limit)
				}
				for range 4 {
					runtime.Gosched() // hold the permit while others run
				}
				admitted.Add(1)
				holders.Add(-1)
			}

			var wg sync.WaitGroup
			stop := make(chan struct{})
			lowest := limit
			var watcher sync.WaitGroup
			watcher.Go(func() { // see the adaptive limit move
				for {
					select {
					case <-stop:
						return
					default:
						lowest = min(lowest, b.Stats().Limit)
						runtime.Gosched()
					}
				}
			})
			for w := range workers {
				wg.Go(func() {
					for i := range rounds {
						ctx, cancel := context.WithCancel(context.Background())
						if (w+i)%7 == 0 {
							cancel() // a caller that gives up at once, perhaps while queued
						}
						switch (w + i) % 3 {
						case 0:
							err := b.Execute(ctx, func(context.Context) error { critical(); return nil })
							if err != nil {
								refused.Add(1)
							}
						case 1:
							if release, err := b.Acquire(ctx); err == nil {
								critical()
								release()
							} else {
								refused.Add(1)
							}
						case 2:
							if b.TryAcquire() {
								critical()
								b.Release()
							} else {
								refused.Add(1)
							}
						}
						cancel()
					}
				})
			}
			wg.Wait()
			close(stop)
			watcher.Wait()
			if got := admitted.Load() + refused.Load(); got != workers*rounds {
				t.Errorf("%d calls admitted or refused, want %d", got, workers*rounds)
			}
			if peak.Load() < 2 || tt.cfg.Adaptive == nil && peak.Load() != limit {
				t.Errorf("peak of %d holders: the hammer never filled the bulkhead", peak.Load())
			}
			t.Logf("peak %d holders, %d admitted, %d refused, lowest limit %d", peak.Load(), admitted.Load(), refused.Load(), lowest)
			wantIdle(t, b)
		})
	}
}
