package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aragora/resilience/breaker"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
)

var noMeter = breaker.WithMeterProvider(metricnoop.NewMeterProvider())

func TestRegistryGetReturnsOneBreakerPerName(t *testing.T) {
	var r breaker.Registry
	a, err := r.Get("agent_claude", breaker.Config{FailureThreshold: 8}, noMeter)
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.Get("agent_claude", breaker.Config{FailureThreshold: 1}, noMeter)
	if err != nil || again != a {
		t.Fatalf("second Get = %p, %v; want the first breaker, %p", again, err, a)
	}
	for range 7 {
		call(t, a, fail)
	}
	wantState(t, a, breaker.Closed) // the first config applies: 8 failures
	other, _ := r.Get("agent_gpt", breaker.Config{}, noMeter)
	if other == a {
		t.Fatal("two names share a breaker")
	}
}

func TestRegistryGetFailsOnInvalidConfig(t *testing.T) {
	var r breaker.Registry
	if _, err := r.Get("bad", breaker.Config{FailureThreshold: -1}); !errors.Is(err, breaker.ErrInvalidConfig) {
		t.Fatalf("error %v, want ErrInvalidConfig", err)
	}
	if got := r.All(); len(got) != 0 {
		t.Fatalf("the failed Get left %d breakers", len(got))
	}
	if err := r.Execute(context.Background(), "", succeed); !errors.Is(err, breaker.ErrInvalidConfig) {
		t.Fatalf("Execute with no name: %v", err)
	}
}

func TestRegistryAllListsByName(t *testing.T) {
	var r breaker.Registry
	for _, name := range []string{"c", "a", "b"} {
		r.Get(name, breaker.Config{}, noMeter)
	}
	var names []string
	for _, b := range r.All() {
		names = append(names, b.Name())
	}
	if fmt.Sprint(names) != "[a b c]" {
		t.Fatalf("All() names %v, want [a b c]", names)
	}
}

func TestRegistryResetAll(t *testing.T) {
	var r breaker.Registry
	a, _ := r.Get("a", breaker.Config{FailureThreshold: 1}, noMeter)
	b, _ := r.Get("b", breaker.Config{FailureThreshold: 2}, noMeter)
	trip(t, a, 1)
	call(t, b, fail)
	r.ResetAll()
	wantState(t, a, breaker.Closed)
	if got := b.Failures(); got != 0 {
		t.Fatalf("b.Failures() after ResetAll = %d", got)
	}
	if len(r.All()) != 2 {
		t.Fatal("ResetAll removed breakers")
	}
}

func TestRegistryConcurrentGetCreatesOneBreaker(t *testing.T) {
	var r breaker.Registry
	var heard recorder
	r.OnStateChange(heard.listen)
	const n = 64
	got := make([]*breaker.Breaker, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			b, err := r.Get("shared", breaker.Config{FailureThreshold: 1}, noMeter)
			if err != nil {
				t.Error(err)
			}
			got[i] = b
			r.All()
		})
	}
	close(start)
	wg.Wait()
	for i, b := range got {
		if b != got[0] {
			t.Fatalf("goroutine %d got breaker %p, goroutine 0 got %p", i, b, got[0])
		}
	}
	if all := r.All(); len(all) != 1 {
		t.Fatalf("All() has %d breakers, want 1", len(all))
	}
	call(t, got[0], fail)
	if n := len(heard.got()); n != 1 {
		t.Fatalf("the registry listener heard %d changes, want 1: one breaker, subscribed once", n)
	}
}

func TestRegistryListenersCoverPresentAndFutureBreakers(t *testing.T) {
	var r breaker.Registry
	before, _ := r.Get("before", breaker.Config{FailureThreshold: 1}, noMeter)
	var heard recorder
	unsubscribe := r.OnStateChange(heard.listen)
	after, _ := r.Get("after", breaker.Config{FailureThreshold: 1}, noMeter)
	call(t, before, fail)
	call(t, after, fail)
	got := heard.got()
	if len(got) != 2 || got[0].Name != "before" || got[1].Name != "after" {
		t.Fatalf("heard %+v: want the trips of before and after", got)
	}
	unsubscribe()
	before.Reset()
	if len(heard.got()) != 2 {
		t.Fatal("heard a change after unsubscribing")
	}
}

func TestPackageLevelRegistry(t *testing.T) {
	t.Cleanup(breaker.ResetAll)
	b, err := breaker.Get("TestPackageLevelRegistry", breaker.Config{FailureThreshold: 1}, noMeter)
	if err != nil {
		t.Fatal(err)
	}
	if !contains(breaker.All(), b) || !contains(breaker.DefaultRegistry().All(), b) {
		t.Fatal("the breaker is not in the default registry")
	}
	err = breaker.Execute(context.Background(), "TestPackageLevelRegistry", fail)
	if !errors.Is(err, errBoom) {
		t.Fatalf("Execute returned %v, want the function's error", err)
	}
	wantState(t, b, breaker.Open)
	if err := breaker.Execute(context.Background(), "TestPackageLevelRegistry", succeed); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("Execute through an open breaker: %v", err)
	}
	breaker.ResetAll()
	wantState(t, b, breaker.Closed)
}

func contains(all []*breaker.Breaker, b *breaker.Breaker) bool {
	for _, x := range all {
		if x == b {
			return true
		}
	}
	return false
}
