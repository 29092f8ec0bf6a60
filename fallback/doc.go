// Package fallback replaces the error of a pipeline's execution with an
// answer of its own: a cached value when a breaker is open, a default when a
// dependency times out, a degraded response when a bulkhead is full.
//
// A [Fallback] is a [policy.Policy]. It runs the rest of the pipeline and,
// when that ends with an error its predicate accepts, calls the fallback
// function with the error and returns what the function returns:
//
//	fb, _ := fallback.New(func(ctx context.Context, err error) error {
//		return nil // treat the failure as done
//	})
//
// [NewValue] is the typed form, for [policy.Get]: its function returns a
// value of Get's type parameter, which becomes the execution's result.
//
//	cached, _ := fallback.NewValue(func(ctx context.Context, err error) (Price, error) {
//		return cache.Last(), nil
//	}, fallback.WithPredicate(fallback.Rejected))
//	p := policy.MustNew("prices", cached, brk, tmo)
//	price, err := policy.Get(ctx, p, fetchPrice)
//
// # Which errors fall back
//
// By default every error does, except two the fallback never replaces: the
// caller's own cancellation (the context given to the fallback is
// cancelled: nobody waits for an answer), and a panic of the function (the
// pipeline raises it again whatever a policy returns). A deadline of the
// caller's own context does fall back, so that a cached answer can be served
// at the caller's deadline. [WithPredicate] narrows the set: [Rejected]
// picks only refusals (an open breaker, a full bulkhead, a rate limit), so
// that an open breaker is answered from a cache while real failures still
// reach the caller.
//
// # Errors and telemetry
//
// Each replacement is reported as a [policy.EventFallback] whose Err is the
// error replaced. When the fallback function itself fails, the execution ends
// with an [*Error] that wraps both the replaced error and the fallback's own,
// so errors.Is finds either one.
//
// # Placement
//
// Put the fallback outermost, or outside the policies whose errors it should
// replace: in New("api", fallback, retry, breaker, timeout) it sees the
// error once the retries are used up, and an open breaker's refusal.
//
// # The timeout's fallback
//
// timeout.WithFallback and timeout.WithFallbackValue stay: they are the
// shorthand for the one case of a timed-out call, and run only when the
// timeout's own limit ran out. This package is the general form; a pipeline
// that needs both a timeout fallback and another one can use a Fallback with
// a predicate that picks timeout.ErrTimeout. Both report the same
// policy.EventFallback.
//
// A panic in the fallback function or the predicate is not recovered: it
// reaches the caller of Execute, and the Fallback holds nothing that it
// would leave behind.
package fallback
