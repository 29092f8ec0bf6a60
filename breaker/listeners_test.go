package breaker_test

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/breaker"
)

// recorder collects the changes a listener hears of.
type recorder struct {
	mu      sync.Mutex
	changes []breaker.StateChange
}

func (r *recorder) listen(sc breaker.StateChange) {
	r.mu.Lock()
	r.changes = append(r.changes, sc)
	r.mu.Unlock()
}

func (r *recorder) got() []breaker.StateChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes)
}

func TestListenersHearEveryChangeWithItsCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 3, SuccessThreshold: 2})
		var r1, r2 recorder
		b.OnStateChange(r1.listen)
		b.OnStateChange(r2.listen)
		trip(t, b, 3)
		time.Sleep(time.Minute)
		call(t, b, succeed)
		call(t, b, fail)
		time.Sleep(time.Minute)
		call(t, b, succeed)
		call(t, b, succeed)
		b.ForceOpen()
		b.Disable()
		b.Reset()
		name := t.Name()
		want := []breaker.StateChange{
			{Name: name, From: breaker.Closed, To: breaker.Open, Counts: breaker.Counts{Failures: 3}},
			{Name: name, From: breaker.Open, To: breaker.HalfOpen},
			{Name: name, From: breaker.HalfOpen, To: breaker.Open, Counts: breaker.Counts{Failures: 1, Successes: 1}},
			{Name: name, From: breaker.Open, To: breaker.HalfOpen},
			{Name: name, From: breaker.HalfOpen, To: breaker.Closed, Counts: breaker.Counts{Successes: 2}},
			{Name: name, From: breaker.Closed, To: breaker.ForcedOpen},
			{Name: name, From: breaker.ForcedOpen, To: breaker.Disabled},
			{Name: name, From: breaker.Disabled, To: breaker.Closed},
		}
		for i, r := range []*recorder{&r1, &r2} {
			if got := r.got(); !slices.Equal(got, want) {
				t.Fatalf("listener %d heard\n%+v\nwant\n%+v", i+1, got, want)
			}
		}
	})
}

func TestWindowCountsReachListeners(t *testing.T) {
	b := newBreaker(t, breaker.Config{Window: &breaker.Window{Size: 4, FailureRateThreshold: 0.5}})
	var r recorder
	b.OnStateChange(r.listen)
	outcomes(t, b, "SFSF")
	want := []breaker.StateChange{{Name: t.Name(), From: breaker.Closed, To: breaker.Open, Counts: breaker.Counts{Failures: 2, Calls: 4}}}
	if got := r.got(); !slices.Equal(got, want) {
		t.Fatalf("heard %+v, want %+v", got, want)
	}
}

func TestUnsubscribedListenersHearNothingMore(t *testing.T) {
	b := newBreaker(t, breaker.Config{FailureThreshold: 1})
	var kept, dropped recorder
	b.OnStateChange(kept.listen)
	unsubscribe := b.OnStateChange(dropped.listen)
	b.ForceOpen()
	unsubscribe()
	unsubscribe() // harmless
	b.Reset()
	if n := len(dropped.got()); n != 1 {
		t.Fatalf("the unsubscribed listener heard %d changes, want 1", n)
	}
	if n := len(kept.got()); n != 2 {
		t.Fatalf("the other listener heard %d changes, want 2", n)
	}
}

func TestListenersRunWithoutTheLockAndMayUseTheBreaker(t *testing.T) {
	b := newBreaker(t, breaker.Config{FailureThreshold: 1})
	var seen []breaker.Status
	var r recorder
	b.OnStateChange(func(sc breaker.StateChange) {
		seen = append(seen, b.Status()) // would deadlock under the lock
		if sc.To == breaker.Open {
			b.Reset() // a change made by a listener is delivered after this one
		}
	})
	b.OnStateChange(r.listen)
	call(t, b, fail)
	got := r.got()
	if len(got) != 2 || got[0].To != breaker.Open || got[1].From != breaker.Open || got[1].To != breaker.Closed {
		t.Fatalf("heard %+v: want closed→open, then open→closed", got)
	}
	if len(seen) != 2 || seen[0].State != breaker.Open || seen[1].State != breaker.Closed {
		t.Fatalf("the listener saw %+v", seen)
	}
}

func TestAPanickingListenerDoesNotStopDelivery(t *testing.T) {
	b := newBreaker(t, breaker.Config{FailureThreshold: 1})
	panicking := true
	b.OnStateChange(func(breaker.StateChange) {
		if panicking {
			panicking = false
			panic("listener bug")
		}
	})
	var r recorder
	b.OnStateChange(r.listen)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the listener's panic was swallowed")
			}
		}()
		b.ForceOpen()
	}()
	b.Reset()
	if n := len(r.got()); n != 1 {
		t.Fatalf("after the panic, %d changes delivered, want 1 (the Reset)", n)
	}
}

func TestWatchGivesTheStateTheFirstChangeStartsFrom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1})
		trip(t, b, 1)
		var r recorder
		cur, unsubscribe := b.Watch(r.listen)
		defer unsubscribe()
		if cur != breaker.Open {
			t.Fatalf("Watch returned %v, want open", cur)
		}
		time.Sleep(time.Minute)
		call(t, b, succeed)
		got := r.got()
		if len(got) == 0 || got[0].From != cur {
			t.Fatalf("first change heard %+v, want it to start from %v", got, cur)
		}
	})
}

func TestConcurrentChangesAreDeliveredInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1, SuccessThreshold: 1, HalfOpenMaxRequests: 64, Cooldown: time.Millisecond})
		var r recorder
		start, unsubscribe := b.Watch(r.listen)
		defer unsubscribe()
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				for i := range 200 {
					if (g+i)%3 == 0 {
						call(t, b, fail)
					} else {
						call(t, b, succeed)
					}
					if i%10 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			})
		}
		wg.Wait()
		got := r.got()
		if len(got) == 0 {
			t.Fatal("no change heard")
		}
		prev := start
		for i, sc := range got {
			if sc.From != prev {
				t.Fatalf("change %d is %v→%v, but the one before ended in %v", i, sc.From, sc.To, prev)
			}
			prev = sc.To
		}
		if cur, _ := b.Watch(nil); cur != prev {
			t.Fatalf("the last change heard ends in %v, the breaker is %v", prev, cur)
		}
	})
}
