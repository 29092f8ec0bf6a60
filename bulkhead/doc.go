// Package bulkhead bounds how many calls to one resource run at once, so
// that a slow or failing dependency holds a bounded share of a service's
// goroutines, connections and memory, and the rest of the service stays up:
// the watertight compartments of a ship's hull.
//
// A [Bulkhead] hands out permits. At most [Config.MaxConcurrent] calls hold
// one at a time; up to [Config.MaxQueue] more wait for one, served first in,
// first out, each for at most [Config.MaxWait] and never past its context.
// Beyond that a call is refused at once:
//
//	b, err := bulkhead.New("search-index", bulkhead.Config{
//		MaxConcurrent: 20,
//		MaxQueue:      50,
//		MaxWait:       100 * time.Millisecond,
//	})
//	p, err := policy.New("search", retryPolicy, breakerPolicy, b, timeoutPolicy)
//
// # Refusals
//
// A refused call gets a [*RejectedError], which matches [policy.ErrRejected]
// and one of two sentinels: [ErrFull] when it found every permit taken and
// the queue full, [ErrWaitTimeout] when it waited MaxWait in vain. A wait
// ended by the caller's context returns the context's error instead: the
// caller gave up, the bulkhead refused nothing. Neither kind of refusal
// reaches the protected function.
//
// # Three ways to take a permit
//
//   - As a [policy.Policy]: [Bulkhead.Run] holds a permit while the rest of a
//     pipeline runs, and [Bulkhead.Execute] runs a function in the bulkhead
//     alone. The permit is released however the call ends: with a
//     value, an error, a panic or a cancelled context. This path allocates
//     nothing when a permit is free.
//   - By hand, with [Bulkhead.Acquire], which waits as Run does and returns
//     an idempotent release func, for a permit held across code that is
//     not one function: "release, err := b.Acquire(ctx); defer release()".
//   - With [Bulkhead.TryAcquire] and [Bulkhead.Release], which never wait and
//     allocate nothing, for code that has its own plan when the bulkhead is
//     full (shed load, serve from a cache).
//
// A call that gives up while queued leaves the queue and never takes a permit
// later; if a permit reached it at the moment it gave up, it is passed on to
// the next waiter.
//
// # Placement in a pipeline
//
// Outside a retry, the bulkhead holds one permit for all attempts and the
// waits between them; inside, each attempt queues afresh and a retry waits
// for a permit like any other call. Inside a breaker, the calls the breaker
// rejects never take a permit nor a place in the queue, and the bulkhead's
// refusals reach the breaker as rejections (they match policy.ErrRejected),
// which a breaker should not count as failures of the dependency.
//
// # Sharing
//
// A bulkhead isolates only if every call to its resource goes through it.
// A [Registry] shares bulkheads by name across a program; [Get] and [All]
// use a default one.
//
// # Adaptive limit
//
// With [Config.Adaptive] set, the limit is no longer fixed: it follows the
// latency of the calls the bulkhead admits, shrinking when latency rises
// above its recent baseline (the sign of a queue building up downstream) and
// growing back when it falls, between [Adaptive.MinLimit] and MaxConcurrent.
// The rule is the gradient of Netflix's concurrency-limits; see [Adaptive].
//
// # Telemetry
//
// In a pipeline, the bulkhead reports a bulkhead.queued event, whose delay is
// the wait, for every call that waited for a permit, and a bulkhead.rejected
// event, with reason [ReasonQueueFull] or [ReasonMaxWait], for every call it
// refused; both land on the execution span and in the resilience.events
// counter. Each bulkhead also registers the observable gauges
// resilience.bulkhead.inflight, resilience.bulkhead.queued and
// resilience.bulkhead.limit, with the attribute bulkhead set to its name.
// [Bulkhead.Stats] returns the same figures, and counts of refusals, for
// health checks.
package bulkhead
