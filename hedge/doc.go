// Package hedge cuts tail latency by hedging: when an attempt has run a
// while without a result, it starts another, and the first to succeed wins
// (Dean and Barroso, "The Tail at Scale").
//
//	h, err := hedge.New() // hedge once, after the observed p95
//	p, err := policy.New("search", h, breakerPolicy, perAttemptTimeout)
//	resp, err := policy.Get(ctx, p, fetch)
//
// # Triggers
//
// After a delay without a result, a [Hedge] starts another attempt, up to
// [WithMaxHedges] (one by default), each after the same delay. With
// [WithParallel], an attempt that fails also starts the next one at once. A
// failure alone never ends hedging early: while attempts are running, the
// first to succeed wins, and an execution whose attempts all fail ends with
// the last failure. A panic ends the execution at once, as it would without
// the hedge.
//
// # Delay
//
// By default the delay is the 95th percentile ([WithPercentile]) of the
// latencies of the attempts that won, estimated in fixed memory by a
// histogram of log-linear buckets at most 25% wide whose counts halve every
// 1000 samples, so the delay follows the dependency as it speeds up or slows
// down. It is bounded by [WithDelayBounds] (1ms to 1s), and is the upper
// bound until 20 attempts have been seen. [WithDelay] sets a fixed delay
// instead. [Hedge.Delay] returns the delay in use.
//
// # Winner and losers
//
// Each attempt runs in a branch of the execution ([policy.Execution.Fork]),
// with a context of its own: the first on the caller's goroutine, each hedge
// on a goroutine of its own, started from the delay's timer, so that an
// execution answered within the delay starts no goroutine. When one succeeds,
// the others are cancelled, with [ErrLost] as their context's cause, and Run
// waits for them: nothing outlives the execution, and every attempt's
// context is cancelled when it ends. A value that needs its attempt's
// context after the call (an HTTP response body) must therefore be read
// inside the function. The values of the attempts that lost but succeeded
// anyway are handed to [WithDiscard], so that their resources are released.
// [Get] and policy.Get return the winner's value.
//
// # Budget
//
// Hedged attempts cost a [Budget]: hedged attempts in flight may not exceed a
// share of the executions in flight (10%, and at least one, by default), so
// hedging cannot double the load on a dependency that is slow for everyone.
// Share one between the hedges that call the same dependency with
// [WithBudget]. A refused hedge is reported, and the execution goes on with
// the attempts it has.
//
// # Telemetry and other policies
//
// Each attempt is an attempt span of the execution, numbered in the order the
// attempts started; a hedged one carries resilience.hedge=true, and a loser's
// error.type is "hedge_lost". Each hedged attempt is reported as a hedge
// event with its attempt number, its delay, and its trigger as the reason
// ("delay" or "failure"); a budget refusal as hedge.budget_exhausted. The
// policies inside the hedge (a breaker, a bulkhead, a per-attempt timeout)
// see each hedged attempt as an attempt of their own. Put a retry outside the
// hedge: each retry is then hedged.
package hedge
