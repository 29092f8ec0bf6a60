package health_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aragora/resilience/health"
	"go.opentelemetry.io/otel"
)

// changeLog is a listener that keeps what it hears.
type changeLog struct {
	mu      sync.Mutex
	changes []health.StatusChange
}

func (l *changeLog) listen(ch health.StatusChange) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes = append(l.changes, ch)
}

func (l *changeLog) get() []health.StatusChange {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.changes)
}

func TestListenersHearEachChangeOnce(t *testing.T) {
	U, H, D, X := health.Unhealthy, health.Healthy, health.Degraded, health.Unknown
	change := func(check string, from, to health.Status) health.StatusChange {
		return health.StatusChange{Checker: "api", Check: check, From: from, To: to}
	}
	c := newChecker(t, health.Config{FailureThreshold: 2})
	db := newScript(nil, nil, nil, errBoom, errBoom, errBoom, nil)
	cache := newScript(nil, errBoom, errBoom, nil)
	mustRegister(t, c, "db", db.check)
	mustRegister(t, c, "cache", cache.check, health.WithCritical(false))
	var log changeLog
	defer c.OnStatusChange(log.listen)()

	want := [][]health.StatusChange{
		{change("db", X, H), change("cache", X, H), change("", X, H)}, // first run: known at last
		nil, // cache fails once: below its threshold
		{change("cache", H, D), change("", H, D)}, // cache's second failure
		{change("cache", D, H), change("", D, H)}, // cache passes; db fails once
		{change("db", H, U), change("", H, U)},    // db's second failure
		nil,                                       // db fails on: no change
		{change("db", U, H), change("", U, H)},
	}
	for i, w := range want {
		before := len(log.get())
		c.CheckAll(context.Background())
		got := log.get()[before:]
		// The two checks run concurrently: compare each check's changes in
		// order, and the overall ones in order.
		for _, key := range []string{"db", "cache", ""} {
			if g, w := only(got, key), only(w, key); !slices.Equal(g, w) {
				t.Errorf("run %d, %q: heard %v, want %v", i+1, key, g, w)
			}
		}
	}
}

func only(changes []health.StatusChange, check string) []health.StatusChange {
	var out []health.StatusChange
	for _, c := range changes {
		if c.Check == check {
			out = append(out, c)
		}
	}
	return out
}

func TestAChangeComesBeforeTheOverallChangeItCaused(t *testing.T) {
	c := newChecker(t, health.Config{FailureThreshold: 1})
	mustRegister(t, c, "db", func(context.Context) error { return errBoom })
	var log changeLog
	defer c.OnStatusChange(log.listen)()
	c.CheckAll(context.Background())
	want := []health.StatusChange{
		{Checker: "api", Check: "db", From: health.Unknown, To: health.Unhealthy},
		{Checker: "api", From: health.Unknown, To: health.Unhealthy},
	}
	if got := log.get(); !slices.Equal(got, want) {
		t.Errorf("heard %v, want %v", got, want)
	}
}

func TestRegisteringACheckCanChangeTheOverallStatus(t *testing.T) {
	c := newChecker(t, health.Config{})
	var log changeLog
	defer c.OnStatusChange(log.listen)()
	mustRegister(t, c, "db", pass) // no checks was healthy; one never run is unknown
	want := []health.StatusChange{{Checker: "api", From: health.Healthy, To: health.Unknown}}
	if got := log.get(); !slices.Equal(got, want) {
		t.Errorf("heard %v, want %v", got, want)
	}
}

func TestListenersRunWithoutTheLock(t *testing.T) {
	c := newChecker(t, health.Config{FailureThreshold: 1})
	mustRegister(t, c, "db", pass)
	var inside []health.Status
	defer c.OnStatusChange(func(ch health.StatusChange) {
		// Each of these takes the checker's lock: under it, they would deadlock.
		inside = append(inside, c.Report().Status)
		if ch.Check == "" {
			_ = c.Register("late", pass)
			c.CheckAll(context.Background())
		}
	})()
	c.CheckAll(context.Background())
	if len(inside) == 0 {
		t.Fatal("the listener was not called")
	}
	if _, ok := c.Report().Checks["late"]; !ok {
		t.Error("Register from a listener did not take")
	}
}

func TestUnsubscribe(t *testing.T) {
	c := newChecker(t, health.Config{FailureThreshold: 1})
	s := newScript(nil, errBoom, nil)
	mustRegister(t, c, "db", s.check)
	var kept, dropped changeLog
	defer c.OnStatusChange(kept.listen)()
	unsubscribe := c.OnStatusChange(dropped.listen)
	c.OnStatusChange(nil)() // ignored, and its unsubscribe is harmless

	c.CheckAll(context.Background())
	unsubscribe()
	unsubscribe() // twice is fine
	c.CheckAll(context.Background())
	c.CheckAll(context.Background())
	if len(dropped.get()) != 2 || len(kept.get()) != 6 {
		t.Errorf("heard %d changes after unsubscribing one listener of two; the other %d: want 2 and 6",
			len(dropped.get()), len(kept.get()))
	}
}

func TestAPanickingListenerIsContained(t *testing.T) {
	var handled []error
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { handled = append(handled, err) }))
	defer otel.SetErrorHandler(prev)

	c := newChecker(t, health.Config{FailureThreshold: 1})
	s := newScript(nil, errBoom)
	mustRegister(t, c, "db", s.check)
	defer c.OnStatusChange(func(health.StatusChange) { panic("listener bug") })()
	var log changeLog
	defer c.OnStatusChange(log.listen)()

	c.CheckAll(context.Background())
	c.CheckAll(context.Background())
	if len(log.get()) != 4 {
		t.Errorf("the other listener heard %d changes, want 4", len(log.get()))
	}
	if len(handled) != 4 || !strings.Contains(handled[0].Error(), "listener bug") {
		t.Errorf("otel.Handle got %v, want the 4 panics", handled)
	}
}
