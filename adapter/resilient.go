package adapter

import (
	"context"
	"errors"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/slo"
)

// ErrNoResilient is returned by the calls of an adapter whose embedded
// *Resilient was never set: a programming error, reported rather than
// running the backend call unprotected.
var ErrNoResilient = errors.New("adapter: nil *Resilient: build it with adapter.New")

// Resilient is what an adapter embeds to call its backend through an
// SLO monitor, a circuit breaker, a bulkhead and a timeout, in that order,
// from one call site:
//
//	type KnowledgeStore struct {
//		*adapter.Resilient
//		client *kb.Client
//	}
//
//	func (s *KnowledgeStore) Put(ctx context.Context, doc kb.Doc) error {
//		return s.ResilientCall(ctx, "put", func(ctx context.Context) error {
//			return s.client.Put(ctx, doc)
//		})
//	}
//
// The monitor is outermost: it measures every call as its caller sees it, so
// a call refused by the breaker or the bulkhead is a bad call for the SLO,
// with its latency counted from the call's entry, queue wait included. An
// open breaker rejects a call before it takes a bulkhead permit. The
// timeout is innermost: it bounds each call that holds a permit to
// Config.Timeout, and the breaker counts a timeout as a failure.
//
// A Resilient is safe for concurrent use. Build it with [New].
type Resilient struct {
	name     string
	br       *breaker.Breaker
	bh       *bulkhead.Bulkhead
	mon      *slo.Monitor
	ownMon   bool
	policies []policy.Policy
	popts    []policy.Option
	maxOps   int

	mu    sync.Mutex                                  // serializes the creation of pipelines
	pipes atomic.Pointer[map[string]*policy.Pipeline] // copy on write: read without a lock
	other *policy.Pipeline                            // for the operations past maxOps
}

// OverflowSuffix ends the name of the pipeline that the operations past
// Config.MaxOperations share: "knowledge_store:other". The separator is not
// the "." of operation pipelines, so no operation's pipeline, not even that
// of an operation named "other" ("knowledge_store.other"), has its name.
const OverflowSuffix = ":other"

// Adapter is what [Call] takes: any type that embeds a *Resilient, or a
// *Resilient itself.
type Adapter interface {
	resilient() *Resilient
}

func (r *Resilient) resilient() *Resilient { return r }

// New builds the *Resilient of the adapter cfg names, from its breaker, bulkhead
// and SLO monitor (see [Config]). It fails, with an error matching
// [ErrInvalidConfig] that names the field, when cfg.Name is empty, a
// number is out of range, or the breaker, bulkhead or monitor it would
// create has an invalid config.
func New(cfg Config, opts ...Option) (*Resilient, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	br, bh, to, mon, own, err := cfg.parts(o)
	if err != nil {
		return nil, err
	}
	r := &Resilient{
		name: cfg.Name, br: br, bh: bh, mon: mon, ownMon: own,
		policies: []policy.Policy{mon, br, bh, to},
		maxOps:   cfg.MaxOperations,
	}
	if r.maxOps == 0 {
		r.maxOps = DefaultMaxOperations
	}
	if o.tp != nil {
		r.popts = append(r.popts, policy.WithTracerProvider(o.tp))
	}
	if o.mp != nil {
		r.popts = append(r.popts, policy.WithMeterProvider(o.mp))
	}
	if r.other, err = r.newPipeline(cfg.Name + OverflowSuffix); err != nil {
		if own {
			_ = mon.Close()
		}
		return nil, err
	}
	r.pipes.Store(&map[string]*policy.Pipeline{})
	return r, nil
}

// ResilientCall runs fn through the adapter's SLO monitor, breaker, bulkhead
// and timeout, as one execution of the pipeline named "<adapter>.<operation>":
// one span, "knowledge_store.search execute", whose resilience.pipeline
// attribute carries the operation, with a child span per attempt, and the
// pipeline's metrics. It returns fn's error, or the rejection of the breaker
// (matching breaker.ErrOpen) or bulkhead (bulkhead.ErrFull,
// bulkhead.ErrWaitTimeout), both matching policy.ErrRejected, or, when fn
// fails after Config.Timeout, an error matching timeout.ErrTimeout and
// context.DeadlineExceeded. fn's context ends at the timeout; fn should
// return when it does. A panic in fn releases what the call holds, counts as
// a failure, and goes on up the stack.
//
// The operation names a kind of call, such as "search" or "put", and must
// come from code, never from request data: each distinct name is a pipeline
// kept for the adapter's life, a span name and a set of metric series. The
// adapter keeps at most Config.MaxOperations of them; the calls of further
// names share the pipeline "<adapter>:other", and take a lock to find it: a
// name distinct from that of any operation, "other" included.
// An empty operation uses the pipeline named after the adapter alone.
func (r *Resilient) ResilientCall(ctx context.Context, operation string, fn func(context.Context) error) error {
	if r == nil {
		return ErrNoResilient
	}
	return r.pipeline(operation).Execute(ctx, fn)
}

// Call is the generic form of [Resilient.ResilientCall], for a call with a
// result: a is the adapter (any type that embeds *Resilient).
//
//	doc, err := adapter.Call(ctx, store, "get", func(ctx context.Context) (kb.Doc, error) {
//		return store.client.Get(ctx, id)
//	})
func Call[T any](ctx context.Context, a Adapter, operation string, fn func(context.Context) (T, error)) (T, error) {
	var r *Resilient
	if a != nil {
		r = a.resilient()
	}
	if r == nil {
		var zero T
		return zero, ErrNoResilient
	}
	return policy.Get(ctx, r.pipeline(operation), fn)
}

// pipeline returns the pipeline of operation: one map lookup, without a lock,
// once it exists.
func (r *Resilient) pipeline(operation string) *policy.Pipeline {
	if p, ok := (*r.pipes.Load())[operation]; ok {
		return p
	}
	return r.addPipeline(operation)
}

func (r *Resilient) addPipeline(operation string) *policy.Pipeline {
	r.mu.Lock()
	defer r.mu.Unlock()
	pipes := *r.pipes.Load()
	if p, ok := pipes[operation]; ok {
		return p
	}
	if len(pipes) >= r.maxOps {
		return r.other
	}
	name := r.name
	if operation != "" {
		name += "." + operation
	}
	p, err := r.newPipeline(name)
	if err != nil {
		// Unreachable: the name is not empty and New built a pipeline of
		// the same policies.
		return r.other
	}
	next := maps.Clone(pipes)
	next[operation] = p
	r.pipes.Store(&next)
	return p
}

func (r *Resilient) newPipeline(name string) (*policy.Pipeline, error) {
	p, err := policy.New(name, r.policies...)
	if err != nil {
		return nil, err
	}
	return p.With(r.popts...), nil
}

// AdapterName returns the adapter's name, Config.Name. (It is not called
// Name, so as not to clash with the adapters that embed it.) It is "" for a
// nil *Resilient.
func (r *Resilient) AdapterName() string {
	if r == nil {
		return ""
	}
	return r.name
}

// Breaker returns the adapter's circuit breaker, for health checks
// (health.BreakerOpen) and operators (ForceOpen, Reset); nil for a nil
// *Resilient.
func (r *Resilient) Breaker() *breaker.Breaker {
	if r == nil {
		return nil
	}
	return r.br
}

// Bulkhead returns the adapter's bulkhead, for health checks
// (health.BulkheadSaturated); nil for a nil *Resilient.
func (r *Resilient) Bulkhead() *bulkhead.Bulkhead {
	if r == nil {
		return nil
	}
	return r.bh
}

// SLO returns the adapter's SLO monitor, for health checks (health.SLOPaging)
// and alert listeners (OnAlertChange); nil for a nil *Resilient.
func (r *Resilient) SLO() *slo.Monitor {
	if r == nil {
		return nil
	}
	return r.mon
}

// Close closes the SLO monitor New created for the adapter (one passed in
// Config.SLO is its owner's to close). The breaker and bulkhead stay in their
// registries, shared with the rest of the program.
func (r *Resilient) Close() error {
	if r == nil || !r.ownMon {
		return nil
	}
	return r.mon.Close()
}
