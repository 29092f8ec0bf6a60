// Package adapter gives a type that talks to one backend, by embedding a
// [*Resilient], what it needs to call that backend through an SLO monitor, a
// circuit breaker, a bulkhead and a time limit from a single call site, and
// to report the state of all of them in one status. It serves the adapters of a knowledge store
// and the like, which need bulkhead isolation and an SLO of their own.
//
// An adapter embeds a *[Resilient] built by [New] from a [Config] that names
// it:
//
//	type KnowledgeStore struct {
//		*adapter.Resilient
//		client *kb.Client
//	}
//
//	func NewKnowledgeStore(client *kb.Client) (*KnowledgeStore, error) {
//		r, err := adapter.New(adapter.Config{
//			Name:           "knowledge_store",
//			BulkheadConfig: bulkhead.Config{MaxConcurrent: 8, MaxQueue: 32},
//			Objective:      slo.Objective{Availability: 0.999, Latency: 300 * time.Millisecond},
//		})
//		if err != nil {
//			return nil, err
//		}
//		return &KnowledgeStore{Resilient: r, client: client}, nil
//	}
//
// and calls its backend with [Resilient.ResilientCall], or [Call] for a
// result:
//
//	func (s *KnowledgeStore) Get(ctx context.Context, id string) (kb.Doc, error) {
//		return adapter.Call(ctx, s, "get", func(ctx context.Context) (kb.Doc, error) {
//			return s.client.Get(ctx, id)
//		})
//	}
//
// # Order and what each part sees
//
// Each call is one execution of a [policy.Pipeline] holding, outermost
// first, the SLO monitor, the breaker, the bulkhead and a timeout:
//
//   - the SLO monitor sees every call, as its caller does: a call refused
//     by the breaker or the bulkhead is a bad call, and the latency it
//     judges runs from the call's entry, queue wait included; a caller's
//     own cancellation is not recorded;
//   - an open breaker rejects at once (breaker.ErrOpen), taking no permit;
//   - the bulkhead bounds the calls in flight and queues or refuses the
//     excess (bulkhead.ErrFull, bulkhead.ErrWaitTimeout); its refusals are
//     rejections, which the breaker does not count as backend failures;
//   - the timeout bounds each call that holds a permit to Config.Timeout
//     (5s by default), so a hung backend cannot hold a permit for good; a
//     timeout (timeout.ErrTimeout) counts as a breaker failure.
//
// Rejections match policy.ErrRejected, so callers can tell "not tried" from
// "failed" with one errors.Is.
//
// # Parts by name or passed in
//
// The breaker and bulkhead are those the breaker and bulkhead registries
// hold under the adapter's name (created from Config.BreakerConfig and
// Config.BulkheadConfig if need be), so every user of that backend in the
// program shares them; or they are passed in ready-made. The SLO monitor is
// created for the adapter, or passed in.
//
// # Telemetry
//
// Each operation is a pipeline named "<adapter>.<operation>", so a call is
// one span, "knowledge_store.get execute", with a child span per attempt,
// and the pipeline's metrics carry the operation in their pipeline
// attribute. Operation names must therefore be a small fixed set from code
// ("get", "put", "search"), never request data; past Config.MaxOperations
// distinct names, calls share "<adapter>:other" ([OverflowSuffix]), a name
// no operation's pipeline has. The breaker, bulkhead and
// monitor add their own gauges (resilience.breaker.state,
// resilience.bulkhead.inflight, resilience.slo.burn_rate, …).
//
// # Health
//
// [Resilient.Status] returns the breaker's status, the bulkhead's stats and
// the SLO snapshot in one JSON-ready value, with a Healthy summary; the
// parts themselves ([Resilient.Breaker], [Resilient.Bulkhead],
// [Resilient.SLO]) plug into the health package's checks.
package adapter
