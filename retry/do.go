package retry

import (
	"context"
	"fmt"

	"github.com/aragora/resilience/policy"
)

// Do runs fn until it succeeds, fails with an error not worth retrying, or
// the retries of cfg run out, and returns its last error: the seed's
// @with_retry(config) for a one-off call.
//
//	err := retry.Do(ctx, retry.Config{MaxRetries: 5}, func(ctx context.Context) error {
//		return client.Ping(ctx)
//	})
//
// Do runs fn directly, with no pipeline: a first attempt that succeeds costs
// little more than the call and allocates nothing, but records no spans or
// metrics, and fn's context carries no attempt number. As a direct call
// would, Do calls fn at least once, even with a context already done: fn is
// expected to honour its context, and its error then ends the execution. (A
// pipeline checks the context first, and runs nothing.) Listeners set by
// [WithOnRetry] and [WithOnExhausted] are called, with the name set by
// [WithName] ("retry") as the operation. Options cost one small allocation
// per call. For telemetry, or options on a hot path, build a [Retry] once and
// use [Retry.Execute] or a [policy.Pipeline].
//
// Do fails at once, without calling fn, when cfg is invalid (see [New]) or an
// option is [WithRetryIfResult], which needs [Get]. A panic in fn is not
// retried: it reaches the caller, after Do has released its budget share.
func Do(ctx context.Context, cfg Config, fn func(context.Context) error, opts ...Option) error {
	if fn == nil {
		return policy.ErrNilFunc
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	l := loop{o: applyOptions(opts)}
	if rc := l.o.result; rc != nil {
		return fmt.Errorf("retry: WithRetryIfResult[%v] needs a value to test: use retry.Get", rc.typ)
	}
	if b := l.o.budget; b != nil {
		b.begin()
		defer l.end()
	}
	// This loop, Get's and Run's are alike on purpose: one generic loop for
	// Do and Get measured 3.4× a hand-written loop against 2.5× for these,
	// past the ≤ 3× this path is held to.
	var err error
	for {
		if l.attempts > 0 && ctx.Err() != nil {
			return l.stopped(ctx, err, "after attempt")
		}
		l.attempts++
		if err = fn(ctx); err == nil {
			l.succeeded()
			return nil
		}
		if l.s == nil {
			l.s = cfg.settings()
		}
		if again, stop := l.after(ctx, err); !again {
			return stop
		}
	}
}

// Get is [Do] for a function with a value: it returns the value of the last
// attempt with the error the execution ends with. With [WithRetryIfResult],
// a value can ask for another attempt, as a status code would.
//
//	resp, err := retry.Get(ctx, cfg, fetch,
//		retry.WithRetryIfResult(func(q *Quote) bool { return q.Stale })) // HTTP responses: use resiliencehttp, which drains and closes them
//
// Get fails at once, without calling fn, when cfg is invalid or the type of
// WithRetryIfResult is not T.
func Get[T any](ctx context.Context, cfg Config, fn func(context.Context) (T, error), opts ...Option) (T, error) {
	var v T
	if fn == nil {
		return v, policy.ErrNilFunc
	}
	if err := cfg.validate(); err != nil {
		return v, err
	}
	l := loop{o: applyOptions(opts)}
	var pred func(T) bool
	if rc := l.o.result; rc != nil {
		p, ok := rc.typed.(func(T) bool)
		if !ok {
			return v, fmt.Errorf("retry: WithRetryIfResult[%v] cannot test the %T of retry.Get", rc.typ, v)
		}
		pred = p
	}
	if b := l.o.budget; b != nil {
		b.begin()
		defer l.end()
	}
	var err error
	for {
		if l.attempts > 0 && ctx.Err() != nil {
			return v, l.stopped(ctx, err, "after attempt")
		}
		l.attempts++
		v, err = fn(ctx)
		if err == nil && (pred == nil || !pred(v)) {
			l.succeeded()
			return v, nil
		}
		if l.s == nil {
			l.s = cfg.settings()
		}
		if again, stop := l.after(ctx, err); !again {
			return v, stop
		}
	}
}
