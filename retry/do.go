package retry

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/aragora/resilience/policy"
)

// Do runs fn until it succeeds, fails with an error not worth retrying, or
// the retries of cfg run out, and returns its last error: the one-off form of
// a [Retry], for a call that needs no policy built ahead.
//
//	err := retry.Do(ctx, retry.Config{MaxRetries: 5}, func(ctx context.Context) error {
//		return client.Ping(ctx)
//	})
//
// Do records what [Retry.Execute] of a Retry built with the same Config and
// options records: with an SDK installed as the global providers, a
// "<name> execute" span with a "<name> attempt" child per attempt, an event
// per decision, and the metrics of [policy.Pipeline], where the name is the
// one set by [WithName] ("retry"). While nothing records (no SDK, or no-op
// providers), Do runs fn directly, with no pipeline: a first attempt that
// succeeds costs little more than the call and allocates nothing, and fn's
// context carries no attempt number ([policy.Attempt] reads 1).
//
// As a pipeline does, Do runs no attempt once ctx is done, and then returns
// ctx's error: a context already done runs nothing. Listeners set by
// [WithOnRetry] and [WithOnExhausted] are called, with the name as the
// operation. Options cost one small allocation per call. On a hot path, build
// a [Retry] once and use [Retry.Execute] or a [policy.Pipeline].
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
	if p := oneOffPipeline(l.o); p.Recording() {
		return p.Execute(oneOffContext(ctx, &cfg, l.o), fn)
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
		if ctx.Err() != nil {
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
// attempt with the error the execution ends with, and records what policy.Get
// through a [Retry] records. With [WithRetryIfResult], a value can ask for
// another attempt, as a status code would.
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
			return v, rc.misfit(reflect.TypeFor[T]())
		}
		pred = p
	}
	if p := oneOffPipeline(l.o); p.Recording() {
		return policy.Get(oneOffContext(ctx, &cfg, l.o), p, fn)
	}
	if b := l.o.budget; b != nil {
		b.begin()
		defer l.end()
	}
	var err error
	for {
		if ctx.Err() != nil {
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

// oneOff is the policy of the pipelines through which Do and Get record: it
// runs the Retry of the call, which rides in the context, since a pipeline's
// policies are fixed and a call's Config is its own. It is named as that
// Retry is, so that telemetry cannot tell the two apart.
type oneOff struct{ name string }

type oneOffKey struct{}

func (o oneOff) Name() string { return o.name }

func (o oneOff) Run(ctx context.Context, ex policy.Execution) error {
	return ctx.Value(oneOffKey{}).(*Retry).Run(ctx, ex)
}

// oneOffContext returns ctx carrying the Retry that cfg and o make.
func oneOffContext(ctx context.Context, cfg *Config, o *options) context.Context {
	r := &Retry{s: *cfg.settings(), opts: o}
	return context.WithValue(ctx, oneOffKey{}, r)
}

// maxOneOffNames bounds the pipelines kept for the names of one-off calls;
// names come from code, and past this many a call builds its own.
const maxOneOffNames = 256

var (
	defaultOneOff = policy.MustNew(noOptions.name, oneOff{noOptions.name})
	oneOffs       sync.Map // name → *policy.Pipeline
	oneOffCount   atomic.Int32
)

// oneOffPipeline returns the pipeline that records the one-off calls named
// as o says. Looking it up costs nothing for the default name.
func oneOffPipeline(o *options) *policy.Pipeline {
	if o == &noOptions || o.name == noOptions.name {
		return defaultOneOff
	}
	if p, ok := oneOffs.Load(o.name); ok {
		return p.(*policy.Pipeline)
	}
	p := policy.MustNew(o.name, oneOff{o.name})
	if oneOffCount.Load() >= maxOneOffNames {
		return p
	}
	if q, loaded := oneOffs.LoadOrStore(o.name, p); loaded {
		return q.(*policy.Pipeline)
	}
	oneOffCount.Add(1)
	return p
}
