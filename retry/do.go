package retry

import (
	"context"
	"fmt"
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
// metrics, and fn's context carries no attempt number. Listeners set by
// [WithOnRetry] and [WithOnExhausted] are called, with the name set by
// [WithName] ("retry") as the operation. For telemetry, build a [Retry] once
// and use [Retry.Execute] or a [policy.Pipeline].
//
// Do fails at once, without calling fn, when cfg is invalid (see [New]) or an
// option is [WithRetryIfResult], which needs [Get]. A panic in fn is not
// retried: it reaches the caller, after Do has released its budget share.
func Do(ctx context.Context, cfg Config, fn func(context.Context) error, opts ...Option) error {
	s, o, err := build(&cfg, opts)
	if err != nil {
		return err
	}
	if rc := o.result; rc != nil {
		return fmt.Errorf("retry: WithRetryIfResult[%v] needs a value to test: use retry.Get", rc.typ)
	}
	_, err = run(ctx, &s, o, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, fn(ctx)
	}, nil)
	return err
}

// Get is [Do] for a function with a value: it returns the value of the last
// attempt with the error the execution ends with. With [WithRetryIfResult],
// a value can ask for another attempt, as a status code would.
//
//	resp, err := retry.Get(ctx, cfg, fetch,
//		retry.WithRetryIfResult(func(r *http.Response) bool { return r.StatusCode == 503 }))
//
// Get fails at once, without calling fn, when cfg is invalid or the type of
// WithRetryIfResult is not T.
func Get[T any](ctx context.Context, cfg Config, fn func(context.Context) (T, error), opts ...Option) (T, error) {
	s, o, err := build(&cfg, opts)
	if err != nil {
		var zero T
		return zero, err
	}
	var pred func(T) bool
	if rc := o.result; rc != nil {
		p, ok := rc.typed.(func(T) bool)
		if !ok {
			var zero T
			return zero, fmt.Errorf("retry: WithRetryIfResult[%v] cannot test the %T of retry.Get", rc.typ, zero)
		}
		pred = p
	}
	return run(ctx, &s, o, fn, pred)
}

// run is the loop of Do and Get: the pipeline's Run, with fn in place of the
// rest of the pipeline.
func run[T any](ctx context.Context, s *settings, o *options, fn func(context.Context) (T, error), pred func(T) bool) (T, error) {
	l := loop{s: *s, o: o}
	l.begin()
	defer l.finish()
	var (
		v   T
		err error
	)
	for {
		// As the core does before each attempt: a done context ends the
		// execution, here only if the timer and the context raced.
		if ctx.Err() != nil {
			if l.attempts == 0 {
				return v, contextError(ctx)
			}
			return v, l.stopped(ctx, err, "after attempt")
		}
		l.attempts++
		v, err = fn(ctx)
		if err == nil && (pred == nil || !pred(v)) {
			l.succeeded()
			return v, nil
		}
		if again, stop := l.after(ctx, err); !again {
			return v, stop
		}
	}
}
