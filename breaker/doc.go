// Package breaker is a circuit breaker: it stops calling a dependency that
// keeps failing, so that the dependency can recover and callers fail fast
// instead of piling up behind it, and tries it again after a cooldown.
//
// # States
//
// A [Breaker] starts [Closed]: calls run, and their failures are counted.
// When they reach its trip rule, it opens: calls are rejected at once with an
// [*OpenError], which matches [ErrOpen] and [policy.ErrRejected] and says,
// through RetryAfter, when the breaker will try again. Once the cooldown has
// passed, it is [HalfOpen]: up to HalfOpenMaxRequests trial calls run at once
// (the others are rejected with an error matching [ErrHalfOpenFull]);
// SuccessThreshold successful trials close it, one failed trial opens it
// again, for a cooldown that may grow with each trip in a row
// (CooldownMultiplier, MaxCooldown). Operators can also hold a breaker
// [ForcedOpen] or [Disabled] until they [Breaker.Reset] it.
//
// # Trip rules
//
// The zero [Config] opens after 5 consecutive failures (FailureThreshold). A
// [Window] replaces that rule with rates over a sliding window of the last N
// calls or the last duration, as resilience4j users know it: the rate of
// failures, the rate of slow calls, applied once the window holds a minimum
// number of calls. Which errors are failures is the [Classifier]'s call; the
// default one ignores context.Canceled, since a caller that gives up says
// nothing about the dependency.
//
// # Using a breaker
//
// In a pipeline, where it reports its rejections and changes of state as
// span events and metrics:
//
//	cb, err := breaker.New("payments", breaker.Config{FailureThreshold: 8})
//	p, err := policy.New("payments", retryPolicy, cb, timeoutPolicy)
//	err = p.Execute(ctx, charge)
//
// Alone, with [Breaker.Execute], which runs it in a pipeline of its own and so
// records the same spans and events; by name through the registry, with the
// package-level [Get], [All], [ResetAll] and [Execute]; or by hand around code
// the caller runs itself, with [Breaker.Allow] and its [Permit], or with
// [Breaker.CanExecute], [Breaker.RecordSuccess] and [Breaker.RecordFailure].
// The manual forms record nothing but the state gauge, allocate nothing and
// cost a few nanoseconds:
//
//	permit, err := cb.Allow()
//	if err != nil {
//		return err // rejected: fail fast
//	}
//	err = callService(ctx)
//	permit.Done(err)
//
// A panic in the protected function counts as a failure and frees what the
// call held; so does a panic in a [Classifier]. Listeners
// ([Breaker.OnStateChange], [Registry.OnStateChange]) hear of every change of
// state, in order, after the breaker's lock is released; [Breaker.Watch] also
// gives the state they start from. A listener that panics on the change a
// call causes frees that call's trial slot.
//
// A half-open period's trial slots are its own: when the breaker changes
// state, or is [Breaker.Reset], the trials still running hold no slot of the
// next period, and their outcomes are not counted.
//
// # Cost
//
// A breaker runs no timer and no goroutine: it changes state when it is used
// or read, and a generation counter keeps the outcomes of calls admitted
// before a change from counting after it. In consecutive mode the closed
// state is lock-free and reads no clock; a rejection by an open breaker
// allocates nothing, and neither do [Breaker.Allow] and [Permit.Done]. A
// sliding window full of successes records one more without its lock; a
// time-based one still reads the clock once per call, which a [CoarseClock]
// (a goroutine of the caller's, given with [WithCoarseClock]) turns into an
// atomic load.
//
// # Telemetry
//
// Besides the events a pipeline records, each breaker is observed by the
// [MetricState] gauge, 1 for its current state and 0 for the others, read at
// every collection from the meter provider of [WithMeterProvider].
package breaker
