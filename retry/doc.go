// Package retry runs a function again when it fails with an error worth
// retrying, waiting a growing, jittered delay between attempts, as a
// [policy.Policy].
//
//	r, err := retry.New(retry.Config{MaxRetries: 3, BaseDelay: 100 * time.Millisecond})
//	p, err := policy.New("payments", r, breaker, perAttemptTimeout)
//	err = p.Execute(ctx, charge)
//
// For a one-off call, [Do] and [Get] take the [Config] directly, and record
// the same telemetry as a [Retry] built from it.
//
// # Delays
//
// The delay before retry n grows by the [Strategy] (Exponential, the default:
// BaseDelay·2^(n−1); Linear; Constant), is capped by MaxDelay, and is
// randomized by the [Jitter], named after the AWS Architecture Blog's
// "Exponential Backoff and Jitter" (FullJitter, the default; EqualJitter;
// DecorrelatedJitter; NoJitter). [Retry.Delay] computes it, for any n without
// overflow. A wait reuses one timer per execution and ends as soon as the
// caller's context is done; a wait that would pass the context's deadline is
// not started, since the attempt after it could not run: the execution ends
// at once with a [*policy.DeadlineError], which matches
// context.DeadlineExceeded. When that deadline is a timeout policy's outside
// the retry (an overall timeout), the execution ends as that timeout: its
// error matches timeout.ErrTimeout, and its fallback runs.
//
// # Which errors are retried
//
// By default, every error except:
//   - the caller's own cancellation or deadline: when the context passed to
//     the policy is done, the execution ends. A timeout policy inside the
//     retry ends only its attempt, with the caller's context alive, and that
//     error is retried;
//   - a panic of the function ([*policy.PanicError]), never retried;
//   - a rejection by a policy inside the retry (an error matching
//     [policy.ErrRejected], such as an open breaker's), unless
//     Config.RetryRejected asks for it: an open breaker is not hammered.
//
// Config.RetryOn (errors matched with errors.Is, or by type) and
// Config.RetryIf (a predicate) narrow this down. An error can speak for
// itself through a method RetryAfter() time.Duration, as HTTP Retry-After and
// gRPC pushback do: a positive duration replaces the computed delay; a
// negative one says not to retry at all, and so does one longer than
// MaxDelay: a server that asks for a pause gets it, rather than a retry every
// MaxDelay. A function that knows
// its failure will last wraps it with [Permanent]. With [WithRetryIfResult], a
// value returned by policy.Get or [Get] can ask for a retry too.
//
// # Budgets
//
// MaxRetries bounds one execution; a [Budget] bounds the retries of all the
// executions that call one dependency, so that a dependency that fails is not
// sent MaxRetries+1 times its traffic: [TokenBucket] is gRPC's retry
// throttling, [ConcurrencyBudget] Envoy's retry budget. Share one between the
// policies that call the same dependency with [WithBudget].
//
// # Errors and telemetry
//
// When the last allowed attempt fails, the execution ends with an
// [*ExhaustedError]: it matches [ErrExhausted], unwraps to the last attempt's
// error and gives the number of attempts. Other endings return the deciding
// error itself: one not worth retrying, or the last one when a budget refuses
// a retry; or the context's error wrapped with the last attempt's. A result
// that asked for a retry never ends as a success: when a budget refuses its
// retry, the execution ends with an error matching [ErrBudgetExhausted], as
// exhaustion ends with an [*ExhaustedError].
//
// In a pipeline, each attempt is a span of its own (the core makes it), and
// the policy reports a retry event (the attempt about to run, the delay) on
// the execution span before each wait, a retry.exhausted event when the
// retries run out and a retry.budget_exhausted event when a budget refuses
// one. [WithOnRetry] and [WithOnExhausted] add listeners for metrics or logs
// of their own. Attempt numbers count the
// policy's tries of the rest of the pipeline; they are the attempt spans'
// numbers, unless a policy inside the retry refused a try (a rejection
// retried under RetryRejected), which counts as a try but runs no attempt.
package retry
