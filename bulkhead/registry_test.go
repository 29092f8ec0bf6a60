package bulkhead_test

import (
	"errors"
	"sync"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"

	"github.com/aragora/resilience/bulkhead"
)

var noMeter = bulkhead.WithMeterProvider(metricnoop.NewMeterProvider())

func TestRegistryGetReturnsOneBulkheadPerName(t *testing.T) {
	var r bulkhead.Registry
	a, err := r.Get("db", bulkhead.Config{MaxConcurrent: 3}, noMeter)
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.Get("db", bulkhead.Config{MaxConcurrent: 99})
	if err != nil || again != a {
		t.Fatalf("second Get = %p, %v; want the first bulkhead %p", again, err, a)
	}
	if got := again.Config().MaxConcurrent; got != 3 {
		t.Errorf("MaxConcurrent %d, want 3: the config applies on creation only", got)
	}
	other, err := r.Get("cache", bulkhead.Config{}, noMeter)
	if err != nil || other == a {
		t.Errorf("Get(cache) = %p, %v; want a bulkhead of its own", other, err)
	}
	all := r.All()
	if len(all) != 2 || all[0].Name() != "cache" || all[1].Name() != "db" {
		t.Errorf("All() = %v, want cache and db, by name", all)
	}
}

func TestRegistryGetFailsOnInvalidConfig(t *testing.T) {
	var r bulkhead.Registry
	if _, err := r.Get("bad", bulkhead.Config{MaxQueue: -1}); !errors.Is(err, bulkhead.ErrInvalidConfig) {
		t.Errorf("Get with a bad config = %v, want ErrInvalidConfig", err)
	}
	if all := r.All(); len(all) != 0 {
		t.Errorf("All() = %v after a failed Get, want none", all)
	}
}

func TestRegistryConcurrentGetCreatesOneBulkhead(t *testing.T) {
	var r bulkhead.Registry
	got := make([]*bulkhead.Bulkhead, 16)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			b, err := r.Get("shared", bulkhead.Config{}, noMeter)
			if err != nil {
				t.Error(err)
			}
			got[i] = b
		})
	}
	wg.Wait()
	for i, b := range got {
		if b != got[0] {
			t.Fatalf("Get %d returned %p, Get 0 %p: one name, two bulkheads", i, b, got[0])
		}
	}
}

func TestPackageLevelRegistry(t *testing.T) {
	b, err := bulkhead.Get("package-level-test", bulkhead.Config{}, noMeter)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := bulkhead.DefaultRegistry().Get("package-level-test", bulkhead.Config{}); again != b {
		t.Errorf("DefaultRegistry().Get returned another bulkhead than Get")
	}
	found := false
	for _, x := range bulkhead.All() {
		found = found || x == b
	}
	if !found {
		t.Errorf("All() does not list the bulkhead Get created")
	}
}
