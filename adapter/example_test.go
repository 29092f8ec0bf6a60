package adapter_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aragora/resilience/adapter"
	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/slo"
)

// KnowledgeStore is a fake adapter to a knowledge store: a map behind a
// flaky "network". It embeds *adapter.Resilient, and so calls its backend through an
// SLO monitor, a breaker, a bulkhead and a timeout.
type KnowledgeStore struct {
	*adapter.Resilient

	mu   sync.Mutex
	docs map[string]string
	down bool // the fake backend's outage switch
}

var errUnreachable = errors.New("knowledge store unreachable")

func NewKnowledgeStore() (*KnowledgeStore, error) {
	r, err := adapter.New(adapter.Config{
		Name:             "knowledge_store",
		BreakerConfig:    breaker.Config{FailureThreshold: 3, Cooldown: 30 * time.Second},
		BulkheadConfig:   bulkhead.Config{MaxConcurrent: 8, MaxQueue: 16},
		Objective:        slo.Objective{Availability: 0.99, Latency: 300 * time.Millisecond},
		BreakerRegistry:  new(breaker.Registry), // a real adapter uses the default registries
		BulkheadRegistry: new(bulkhead.Registry),
	})
	if err != nil {
		return nil, err
	}
	return &KnowledgeStore{Resilient: r, docs: map[string]string{}}, nil
}

// Put stores a document: a call without a result.
func (s *KnowledgeStore) Put(ctx context.Context, id, text string) error {
	return s.ResilientCall(ctx, "put", func(ctx context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.down {
			return errUnreachable
		}
		s.docs[id] = text
		return nil
	})
}

// Get reads a document: a call with a result.
func (s *KnowledgeStore) Get(ctx context.Context, id string) (string, error) {
	return adapter.Call(ctx, s, "get", func(ctx context.Context) (string, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.down {
			return "", errUnreachable
		}
		return s.docs[id], nil
	})
}

func Example_knowledgeStore() {
	ctx := context.Background()
	store, err := NewKnowledgeStore()
	if err != nil {
		panic(err)
	}
	defer store.Close()

	_ = store.Put(ctx, "go", "a programming language")
	text, err := store.Get(ctx, "go")
	fmt.Printf("get: %q, %v\n", text, err)

	// The backend goes down: three failures open the breaker, and the
	// fourth call is refused without reaching the backend.
	store.down = true
	for range 4 {
		_, err = store.Get(ctx, "go")
	}
	fmt.Println("fourth call refused:", errors.Is(err, breaker.ErrOpen))

	st := store.Status()
	fmt.Printf("healthy: %v, breaker: %v, permits in use: %d\n", st.Healthy, st.Breaker.State, st.Bulkhead.InFlight)
	fmt.Printf("SLO: %.0f calls, %.0f failed or refused, alert %v\n",
		st.SLO.Availability.Windows[0].Calls, st.SLO.Availability.Windows[0].Bad, st.SLO.Alert)
	// Output:
	// get: "a programming language", <nil>
	// fourth call refused: true
	// healthy: false, breaker: open, permits in use: 0
	// SLO: 6 calls, 4 failed or refused, alert page
}
