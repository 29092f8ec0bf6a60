package policy

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
)

// Pipeline runs functions through a fixed list of policies, outermost first,
// and records every execution, attempt and decision in OpenTelemetry. A
// Pipeline is safe for concurrent use; build one per dependency with [New]
// and reuse it. A nil *Pipeline runs nothing: its Execute and [Get] return
// [ErrNilPipeline].
type Pipeline struct {
	name     string
	policies []Policy
	names    []string // policy names, for telemetry

	cfg   config
	attrs *attrSets                // precomputed attribute sets
	tel   atomic.Pointer[resolved] // telemetry for the current global providers
	fixed *telemetry               // telemetry for explicit providers; see static
	// static is set when both providers are explicit: telemetry is then
	// resolved once, by With, and fixed holds it (nil when it is off).
	static bool
}

// ErrNilPolicy is returned by [New] when one of its policies is nil.
var ErrNilPolicy = errors.New("policy: nil policy")

// ErrNoName is returned by [New] when the pipeline's name is empty.
var ErrNoName = errors.New("policy: pipeline name is empty")

// ErrNilPipeline is returned by [Pipeline.Execute] and [Get] called on a nil
// *Pipeline, which runs nothing; [Pipeline.With] panics with it.
var ErrNilPipeline = errors.New("policy: nil *Pipeline: build it with policy.New")

// ErrNilFunc is returned by [Pipeline.Execute] and [Get], which run nothing,
// when the function to run is nil.
var ErrNilFunc = errors.New("policy: the function to run is nil")

// New returns a pipeline named name that runs functions through policies,
// outermost first: in New("api", retry, breaker, timeout) the retry runs the
// breaker, which runs the timeout, which runs the function. The name labels
// the pipeline's spans and metrics, so it should come from code, never from
// request data. New fails when name is empty or a policy is nil.
//
// A policy that has a Name() string method is named by it in telemetry; other
// policies are named by their type. Telemetry goes to the global providers of
// the otel package; [Pipeline.With] sets others.
func New(name string, policies ...Policy) (*Pipeline, error) {
	if name == "" {
		return nil, ErrNoName
	}
	p := &Pipeline{
		name:     name,
		policies: append([]Policy(nil), policies...),
		names:    make([]string, len(policies)),
	}
	for i, pol := range p.policies {
		if pol == nil || reflect.ValueOf(pol).Kind() == reflect.Pointer && reflect.ValueOf(pol).IsNil() {
			return nil, fmt.Errorf("%w: policy %d of pipeline %q", ErrNilPolicy, i, name)
		}
		p.names[i] = policyName(pol)
	}
	p.attrs = newAttrSets(name, p.names)
	return p, nil
}

// MustNew is like [New] but panics when New fails. It suits package-level
// pipelines built from constant arguments.
func MustNew(name string, policies ...Policy) *Pipeline {
	p, err := New(name, policies...)
	if err != nil {
		panic(err)
	}
	return p
}

// With returns a copy of p, sharing its policies, configured by opts: the way
// to set the tracer and meter providers, as tests do.
func (p *Pipeline) With(opts ...Option) *Pipeline {
	if p == nil {
		panic(ErrNilPipeline)
	}
	q := &Pipeline{name: p.name, policies: p.policies, names: p.names, cfg: p.cfg, attrs: p.attrs}
	for _, o := range opts {
		if o != nil {
			o.apply(&q.cfg)
		}
	}
	if q.cfg.tp != nil && q.cfg.mp != nil {
		q.static, q.fixed = true, newTelemetry(q.cfg.tp, q.cfg.mp)
	}
	return q
}

// Name returns the pipeline's name, or "" for a nil *Pipeline.
func (p *Pipeline) Name() string {
	if p == nil {
		return ""
	}
	return p.name
}

// Recording reports whether an execution that starts now records telemetry:
// false while neither provider records anything (no SDK installed, or no-op
// providers), and for a nil *Pipeline. It costs what an execution pays to
// find its telemetry, a few atomic loads, so that code with a cheaper path of
// its own when nothing is recorded, such as a one-off retry, can choose it.
func (p *Pipeline) Recording() bool {
	return p != nil && p.telemetry() != nil
}

func policyName(pol Policy) string {
	if n, ok := pol.(interface{ Name() string }); ok && n.Name() != "" {
		return n.Name()
	}
	t := reflect.TypeOf(pol)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "" {
		return "policy"
	}
	return strings.ToLower(t.Name())
}

// Execute runs fn through the pipeline's policies and returns the error the
// execution ends with. fn may run several times (a retry), or not at all (an
// open breaker); it reads its attempt number with [Attempt].
//
// When fn panics, every policy sees a [*PanicError], releases what it holds
// and counts a failure; the panic is recorded on the spans, and Execute then
// panics again with the original value.
//
// When ctx is done before an attempt starts, that attempt does not run and
// the execution ends with ctx's error.
func (p *Pipeline) Execute(ctx context.Context, fn func(context.Context) error) error {
	if fn == nil {
		return ErrNilFunc
	}
	if p == nil {
		return ErrNilPipeline
	}
	if p.static && p.fixed == nil && len(p.policies) == 0 {
		return runBare(ctx, fn) // saves a call through the runner interface
	}
	return p.execute(ctx, funcRunner(fn))
}

// runBare runs fn as the one attempt of an execution that has nothing to
// record and no policy to tell. A panic needs no recovering here, since
// nothing is held.
func runBare(ctx context.Context, fn func(context.Context) error) error {
	if err := ContextError(ctx); err != nil {
		return err
	}
	return fn(attemptContext(ctx, 1))
}

// Get runs fn through p's policies, as [Pipeline.Execute] does, and returns
// the value of its last attempt with the error the execution ends with. The
// value is fn's own, or one set by a fallback; callers should ignore it when
// the error is not nil, unless a policy documents otherwise.
func Get[T any](ctx context.Context, p *Pipeline, fn func(context.Context) (T, error)) (T, error) {
	if fn == nil || p == nil {
		var zero T
		if fn == nil {
			return zero, ErrNilFunc
		}
		return zero, ErrNilPipeline
	}
	r := &getRunner[T]{fn: fn}
	err := p.execute(ctx, r)
	return r.val, err
}

// runner is the user's function as the core calls it.
type runner interface {
	run(ctx context.Context) error
	fork() runner   // a runner of the same function with a result of its own
	adopt(b runner) // take b's result, b being a fork of this runner
}

// resultRunner is a runner with a value: the one Get makes.
type resultRunner interface {
	result() any
	setResult(v any) bool
	resultType() reflect.Type
}

type funcRunner func(context.Context) error

func (f funcRunner) run(ctx context.Context) error { return f(ctx) }
func (f funcRunner) fork() runner                  { return f }
func (f funcRunner) adopt(runner)                  {}

type getRunner[T any] struct {
	fn  func(context.Context) (T, error)
	val T
}

func (g *getRunner[T]) run(ctx context.Context) error {
	v, err := g.fn(ctx)
	g.val = v
	return err
}

func (g *getRunner[T]) fork() runner { return &getRunner[T]{fn: g.fn} }

func (g *getRunner[T]) adopt(b runner) { g.val = b.(*getRunner[T]).val }

func (g *getRunner[T]) result() any { return g.val }

func (g *getRunner[T]) setResult(v any) bool {
	if v == nil {
		// nil is a value of T when T has a nil: the nil interface, pointer,
		// slice, map, channel or func, which is T's zero value.
		if !hasNil(reflect.TypeFor[T]()) {
			return false
		}
		var zero T
		g.val = zero
		return true
	}
	t, ok := v.(T)
	if ok {
		g.val = t
	}
	return ok
}

func (g *getRunner[T]) resultType() reflect.Type { return reflect.TypeFor[T]() }

// hasNil reports whether nil is a value of type t.
func hasNil(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface, reflect.Pointer, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	}
	return false
}

// state is one execution's: what the policies share and what telemetry needs.
// It is pooled, so an execution allocates nothing of its own.
//
// A branch (Execution.Fork) is a state of its own for attempts that run at
// the same time as others: it shares the execution's pipeline, telemetry and
// span, and counts its attempts in the execution's state (top), while its
// result and its panic are its own until Join.
type state struct {
	p        *Pipeline
	tel      *telemetry // nil when telemetry is off
	run      runner
	attempts atomic.Int32 // attempts started; in a branch, unused (see top)
	unused   atomic.Int32 // numbers reserved by branches joined before starting an attempt; in a branch, unused
	exec     execSpan
	panicErr *PanicError // set when fn panicked
	top      *state      // in a branch, the execution's state; nil in it
	first    int32       // in a branch, the number reserved for its first attempt until it starts
	hedged   bool        // in a branch, its attempts are hedged ones
}

// counter returns the count of the execution's attempts.
func (s *state) counter() *atomic.Int32 {
	if s.top != nil {
		return &s.top.attempts
	}
	return &s.attempts
}

// nextAttempt returns the number of the attempt about to start.
func (s *state) nextAttempt() int {
	if s.top == nil {
		return int(s.attempts.Add(1))
	}
	if n := s.first; n != 0 {
		s.first = 0
		return int(n)
	}
	return int(s.top.attempts.Add(1))
}

var statePool = sync.Pool{New: func() any { return new(state) }}

func (p *Pipeline) execute(ctx context.Context, r runner) error {
	tel := p.telemetry()
	if tel == nil && len(p.policies) == 0 {
		if err := ContextError(ctx); err != nil { // as runBare
			return err
		}
		return r.run(attemptContext(ctx, 1))
	}

	s := statePool.Get().(*state)
	s.p, s.tel, s.run = p, tel, r
	var err error
	if tel != nil {
		err = s.recorded(ctx)
	} else {
		err = s.next(ctx, 0)
	}
	panicErr := s.panicErr
	*s = state{}
	statePool.Put(s)
	if panicErr != nil {
		panic(panicErr.Value)
	}
	return err
}

// errGoexit ends the span of an execution that runtime.Goexit cut short.
var errGoexit = errors.New("policy: runtime.Goexit in the execution")

// recorded runs the execution between its span's start and end. A panic
// that a policy raises itself (a fallback, classifier or listener of the
// user's that panics inside Run) passes by the attempt's recover: it ends the
// execution span here, recorded as a panic, and goes on up with its own
// value. The state is then left to the collector, not put back in the pool.
func (s *state) recorded(ctx context.Context) (err error) {
	ended := false
	defer func() {
		if ended {
			return
		}
		v := recover()
		if v == nil { // runtime.Goexit: end the span, and let it go on
			s.endExecution(errGoexit)
			return
		}
		s.panicErr = &PanicError{Value: v, Stack: debug.Stack()}
		s.endExecution(s.panicErr)
		panic(v)
	}()
	err = s.next(s.startExecution(ctx), 0)
	s.endExecution(err)
	ended = true
	return err
}

func (s *state) next(ctx context.Context, i int) error {
	if i < len(s.p.policies) {
		return s.p.policies[i].Run(ctx, Execution{s: s, idx: i})
	}
	return s.attempt(ctx)
}

// attempt runs the user's function once.
func (s *state) attempt(ctx context.Context) error {
	if ctx.Err() != nil {
		return ContextError(ctx)
	}
	n := s.nextAttempt()
	ctx = attemptContext(ctx, n)
	if s.tel == nil {
		return s.guarded(ctx)
	}
	ctx, a := s.startAttempt(ctx)
	ended := false
	defer func() {
		if !ended { // the function called runtime.Goexit
			s.endAttempt(&a, n, errGoexit)
		}
	}()
	err := s.guarded(ctx)
	s.endAttempt(&a, n, err)
	ended = true
	return err
}

// guarded runs the user's function, turning a panic into a *PanicError.
func (s *state) guarded(ctx context.Context) (err error) {
	defer s.recoverAttempt(&err)
	return s.run.run(ctx)
}

// recoverAttempt, deferred by guarded, turns a panic of the user's function
// into the attempt's error.
func (s *state) recoverAttempt(err *error) {
	if v := recover(); v != nil {
		s.panicErr = &PanicError{Value: v, Stack: debug.Stack()}
		*err = s.panicErr
	}
}
