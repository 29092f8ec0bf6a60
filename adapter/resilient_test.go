package adapter_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/aragora/resilience/adapter"
	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/policy"
)

var errBackend = errors.New("backend down")

func TestACallRunsThroughBreakerBulkheadAndSLO(t *testing.T) {
	r := newAdapter(t, adapter.Config{Name: "kb", BulkheadConfig: bulkhead.Config{MaxConcurrent: 2}})
	var inflight int
	err := r.ResilientCall(t.Context(), "search", func(context.Context) error {
		inflight = r.Bulkhead().Stats().InFlight
		return nil
	})
	if err != nil {
		t.Fatalf("ResilientCall: %v", err)
	}
	if inflight != 1 {
		t.Errorf("the call held %d bulkhead permits, want 1", inflight)
	}
	if calls, bad := sloCalls(r); calls != 1 || bad != 0 {
		t.Errorf("SLO saw %v calls, %v bad; want 1 good call", calls, bad)
	}
	if got := r.Bulkhead().Stats().InFlight; got != 0 {
		t.Errorf("%d permits held after the call, want 0", got)
	}
}

// An open breaker refuses before the bulkhead sees anything; the SLO, which
// sees every call, counts the refusal as a bad call.
func TestAnOpenBreakerRejectsBeforeTheBulkhead(t *testing.T) {
	r := newAdapter(t, adapter.Config{Name: "kb"})
	r.Breaker().ForceOpen()
	ran := false
	err := r.ResilientCall(t.Context(), "search", func(context.Context) error { ran = true; return nil })
	if !errors.Is(err, breaker.ErrOpen) || !errors.Is(err, policy.ErrRejected) {
		t.Errorf("error %v; want one matching breaker.ErrOpen and policy.ErrRejected", err)
	}
	if ran {
		t.Error("the function ran behind an open breaker")
	}
	if s := r.Bulkhead().Stats(); s.Rejected != 0 || s.InFlight != 0 {
		t.Errorf("bulkhead stats %+v; want it untouched", s)
	}
	if calls, bad := sloCalls(r); calls != 1 || bad != 1 {
		t.Errorf("SLO saw %v calls, %v bad; want the refusal as 1 bad call", calls, bad)
	}
}

// The bulkhead is inside the breaker: its refusals are rejections, which the
// breaker does not count against the backend, and the SLO counts as bad
// calls.
func TestAFullBulkheadRejectsWithoutTrippingTheBreaker(t *testing.T) {
	r := newAdapter(t, adapter.Config{
		Name:           "kb",
		BreakerConfig:  breaker.Config{FailureThreshold: 1},
		BulkheadConfig: bulkhead.Config{MaxConcurrent: 1},
	})
	if !r.Bulkhead().TryAcquire() {
		t.Fatal("could not take the only permit")
	}
	defer r.Bulkhead().Release()
	for range 3 {
		err := r.ResilientCall(t.Context(), "search", func(context.Context) error { return nil })
		if !errors.Is(err, bulkhead.ErrFull) || !errors.Is(err, policy.ErrRejected) {
			t.Fatalf("error %v; want one matching bulkhead.ErrFull and policy.ErrRejected", err)
		}
	}
	if st := r.Breaker().State(); st != breaker.Closed {
		t.Errorf("breaker %v after bulkhead refusals, want closed", st)
	}
	if calls, bad := sloCalls(r); calls != 3 || bad != 3 {
		t.Errorf("SLO saw %v calls, %v bad; want the 3 refusals as bad calls", calls, bad)
	}
}

func TestBackendFailuresCountInTheBreakerAndTheSLO(t *testing.T) {
	r := newAdapter(t, adapter.Config{Name: "kb", BreakerConfig: breaker.Config{FailureThreshold: 3}})
	for range 3 {
		if err := r.ResilientCall(t.Context(), "put", func(context.Context) error { return errBackend }); !errors.Is(err, errBackend) {
			t.Fatalf("error %v, want the backend's", err)
		}
	}
	if st := r.Breaker().State(); st != breaker.Open {
		t.Errorf("breaker %v after 3 failures with a threshold of 3, want open", st)
	}
	if calls, bad := sloCalls(r); calls != 3 || bad != 3 {
		t.Errorf("SLO saw %v calls, %v bad; want 3 and 3", calls, bad)
	}
}

func TestEachCallIsOneSpanNamedAfterItsOperation(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	r := newAdapter(t, adapter.Config{Name: "kb"},
		adapter.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))

	_ = r.ResilientCall(t.Context(), "search", func(context.Context) error { return nil })
	if _, err := adapter.Call(t.Context(), r, "get", func(context.Context) (string, error) { return "doc", nil }); err != nil {
		t.Fatal(err)
	}

	var execs []string
	for _, s := range rec.Ended() {
		if s.Parent().IsValid() {
			continue // attempt spans
		}
		attrs := attribute.NewSet(s.Attributes()...)
		pipeline, _ := attrs.Value(policy.AttrPipeline)
		execs = append(execs, s.Name()+" / "+pipeline.AsString())
	}
	want := []string{"kb.search execute / kb.search", "kb.get execute / kb.get"}
	if len(execs) != len(want) || execs[0] != want[0] || execs[1] != want[1] {
		t.Errorf("execution spans %q, want %q", execs, want)
	}
	if n := len(rec.Ended()); n != 4 {
		t.Errorf("%d spans, want 4: an execution and an attempt per call", n)
	}
}

func TestOperationsPastTheBoundShareOnePipeline(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	r := newAdapter(t, adapter.Config{Name: "kb", MaxOperations: 2},
		adapter.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))
	for _, op := range []string{"a", "b", "c", "d", "a", ""} {
		_ = r.ResilientCall(t.Context(), op, func(context.Context) error { return nil })
	}
	var names []string
	for _, s := range rec.Ended() {
		if !s.Parent().IsValid() {
			names = append(names, s.Name())
		}
	}
	want := []string{"kb.a execute", "kb.b execute", "kb:other execute", "kb:other execute", "kb.a execute", "kb:other execute"}
	if len(names) != len(want) {
		t.Fatalf("spans %q, want %q", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Errorf("span %d = %q, want %q", i, names[i], want[i])
		}
	}
}

func TestCallReturnsTheValue(t *testing.T) {
	r := newAdapter(t, adapter.Config{Name: "kb"})
	got, err := adapter.Call(t.Context(), r, "get", func(context.Context) (int, error) { return 42, nil })
	if got != 42 || err != nil {
		t.Errorf("Call = %v, %v; want 42, nil", got, err)
	}
}

type store struct {
	*adapter.Resilient
}

func TestAnAdapterWithoutItsMixinSaysSo(t *testing.T) {
	var s store
	if err := s.ResilientCall(t.Context(), "get", func(context.Context) error { return nil }); !errors.Is(err, adapter.ErrNoResilient) {
		t.Errorf("ResilientCall on a nil mixin = %v, want ErrNoResilient", err)
	}
	if _, err := adapter.Call(t.Context(), s, "get", func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, adapter.ErrNoResilient) {
		t.Errorf("Call on a nil mixin = %v, want ErrNoResilient", err)
	}
}

func TestAPanicReleasesThePermitAndCountsAsAFailure(t *testing.T) {
	r := newAdapter(t, adapter.Config{Name: "kb", BreakerConfig: breaker.Config{FailureThreshold: 1}})
	func() {
		defer func() {
			if v := recover(); v != "kaput" {
				t.Errorf("recovered %v, want the original panic", v)
			}
		}()
		_ = r.ResilientCall(t.Context(), "put", func(context.Context) error { panic("kaput") })
	}()
	if n := r.Bulkhead().Stats().InFlight; n != 0 {
		t.Errorf("%d permits held after a panic, want 0", n)
	}
	if st := r.Breaker().State(); st != breaker.Open {
		t.Errorf("breaker %v after a panic with a threshold of 1, want open", st)
	}
	if calls, bad := sloCalls(r); calls != 1 || bad != 1 {
		t.Errorf("SLO saw %v calls, %v bad; want the panic as 1 bad call", calls, bad)
	}
}

// A caller that gives up while queued takes no permit, and says nothing
// about the backend to the breaker or the SLO.
func TestACallerCancelledWhileQueuedLeavesNoTrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newAdapter(t, adapter.Config{Name: "kb", BulkheadConfig: bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1}})
		release := make(chan struct{})
		go func() {
			_ = r.ResilientCall(t.Context(), "put", func(context.Context) error { <-release; return nil })
		}()
		synctest.Wait()

		ctx, cancel := context.WithCancel(t.Context())
		go func() { time.Sleep(time.Second); cancel() }()
		err := r.ResilientCall(ctx, "put", func(context.Context) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
		close(release)
		synctest.Wait()
		if calls, bad := sloCalls(r); calls != 1 || bad != 0 {
			t.Errorf("SLO saw %v calls, %v bad; want only the one that ran", calls, bad)
		}
		if s := r.Bulkhead().Stats(); s.InFlight != 0 || s.Queued != 0 {
			t.Errorf("bulkhead stats %+v after both calls, want it empty", s)
		}
		if f := r.Breaker().Failures(); f != 0 {
			t.Errorf("breaker counted %d failures, want 0", f)
		}
	})
}

// Under a hammer of concurrent calls the bulkhead's limit holds and every
// call that ran reaches the SLO (run with -race).
func TestConcurrentCallsRespectTheBulkhead(t *testing.T) {
	r := newAdapter(t, adapter.Config{Name: "kb", BulkheadConfig: bulkhead.Config{MaxConcurrent: 4, MaxQueue: 64}})
	var running, peak, ran atomic.Int64
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 50 {
				op := []string{"get", "put", "search"}[(g+i)%3]
				_ = r.ResilientCall(context.Background(), op, func(context.Context) error {
					n := running.Add(1)
					for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
					}
					ran.Add(1)
					running.Add(-1)
					return nil
				})
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 4 {
		t.Errorf("%d calls ran at once, the bulkhead allows 4", p)
	}
	if calls, _ := sloCalls(r); calls != float64(ran.Load()) {
		t.Errorf("SLO saw %v calls, %d ran", calls, ran.Load())
	}
}
