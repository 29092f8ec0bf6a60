// Package redis is a rate limit shared by every replica of a service: the
// generic cell rate algorithm (GCRA) in one Lua script, one round trip per
// decision, on the clock of the Redis server, so that replicas whose clocks
// disagree still keep one limit. It is a nested module of its own, so that
// the library's root module never depends on a Redis client.
//
// The package is named redis, like the client's; import one of the two
// under another name:
//
//	import (
//		goredis "github.com/redis/go-redis/v9"
//		"github.com/aragora/resilience/ratelimit"
//		sharedlimit "github.com/aragora/resilience/ratelimit/redis"
//	)
//
//	lim, err := sharedlimit.New("partner-api", goredis.NewClient(opts), sharedlimit.Config{
//		Rate: ratelimit.PerSecond(100), Burst: 20, Replicas: 4,
//	})
//	limit, err := ratelimit.New("partner-api", lim, ratelimit.WithMaxWait(50*time.Millisecond))
//	p := policy.MustNew("partner", limit, brk, tmo)
//
// A [Limiter] implements [ratelimit.Limiter]: the policy of package
// ratelimit runs it as it runs a local bucket, with the same waits, the same
// [ratelimit.RejectedError] and its RetryAfter, and the same events. Keys
// come from ratelimit.ContextWithKey, costs from ratelimit.ContextWithCost.
//
// # In Redis
//
// Each key is one string, Config.Prefix and the key, holding the limit's
// theoretical arrival time in microseconds of the server's clock. It expires
// when the limit would be full again, so idle keys cost nothing. The script
// returns whether the call is admitted, its wait or its retry-after, and the
// permits that remain.
//
// # When Redis is down
//
// Redis is a dependency that fails, so the limiter protects itself with
// this library: every call runs under a short timeout (Config.Timeout, 100ms
// by default) and through a breaker (Config.Breaker: by default it opens
// after 3 consecutive failures and tries again after 5s). While Redis cannot
// answer, the limiter follows Config.Mode:
//
//   - [FailLocal], the default: a token bucket in this process, per key, at
//     the rate and burst divided by Config.Replicas, so that the replicas
//     together keep about the shared limit;
//   - [FailOpen]: every call is admitted;
//   - [FailClosed]: every call is refused, with a RetryAfter of the time
//     until the breaker tries Redis again.
//
// A call never waits on Redis longer than the timeout, and once the breaker
// is open it does not wait at all. Give a *redis.Client the option
// ContextTimeoutEnabled: it then bounds its round trips by the timeout
// itself, and the limiter calls it directly; with any other client the
// limiter runs each round trip on a goroutine of its own and stops waiting
// for it at the timeout, which costs a goroutine and a channel per
// decision. The limiter returns to Redis when a trial
// call succeeds and the breaker closes. Each switch of backend is a
// ratelimit.backend_change event in the pipeline, and the gauge
// resilience.ratelimit.backend (attributes limiter and backend: redis,
// local, fail_open or fail_closed) is 1 for the backend deciding now.
// Errors of Redis go to otel.Handle.
//
// A decision's round trip is not a span of its own: the pipeline's
// execution span and its events tell what the limiter decided.
package redis
