// Package ratelimit limits the rate of calls: a partner API's 100 requests
// a second, a tenant's quota, the pace at which a job may write.
//
// # Limiters
//
// A [Limiter] decides. This package has three, all built on the generic cell
// rate algorithm (GCRA), which keeps a limit in one integer updated by a
// compare-and-swap, so that deciding never locks and refusing never writes:
//
//   - [NewTokenBucket] (rate, burst): up to burst calls go at once, then one
//     per interval. The GCRA admits exactly the calls a token bucket does.
//   - [NewSmooth] (rate, tolerance): calls are spread evenly, one per
//     interval, each at most tolerance early, so bursts are ironed out.
//   - [NewKeyed] (rate, burst, max keys): a token bucket per key, such as a
//     tenant, in bounded memory: at most max keys are remembered
//     ([DefaultMaxKeys], 10,000, by default), the least recently used
//     forgotten first.
//
// A [Bucket] also has Allow and AllowN, for code that asks without a
// pipeline; they neither lock nor allocate.
//
// # The policy
//
// [New] makes a limiter a [policy.Policy]:
//
//	bucket, _ := ratelimit.NewTokenBucket(ratelimit.PerSecond(100), 20)
//	limit, _ := ratelimit.New("partner-api", bucket, ratelimit.WithMaxWait(200*time.Millisecond))
//	p := policy.MustNew("partner", limit, brk, tmo)
//
// A call that finds a permit free goes at once. With [WithMaxWait], one that
// would find its permit within that wait, and before its context's
// deadline, waits for it, its turn reserved; the calls that wait go one
// interval apart, in the order they came. Other calls are refused with a
// [*RejectedError], which matches [ErrRateLimited] and [policy.ErrRejected]
// and says through RetryAfter when the permit will be free: the value of a
// Retry-After header. A keyed limiter reads the key from the context
// ([ContextWithKey]); a call may cost several permits ([ContextWithCost]).
//
// Put the rate limiter outside a retry when the limit is the caller's
// (each execution counts once), inside it when the limit is the
// dependency's (each attempt counts).
//
// # Telemetry
//
// A refusal is a ratelimit.rejected event (resilience.reason "limited" or
// "max_wait", the retry-after as resilience.delay), a wait a
// ratelimit.waited event with the wait. Keys never appear in telemetry.
//
// # Shared limits
//
// A limit that must hold across replicas keeps its state in a shared store;
// such a limiter implements [Limiter] and returns [NewRejectedError]'s
// errors, so that it plugs into a pipeline as these do. The module
// github.com/aragora/resilience/ratelimit/redis is one, backed by Redis.
package ratelimit
