package policy_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/aragora/resilience/policy"
)

// recordingPolicy notes when it runs, and runs the rest of the pipeline once.
type recordingPolicy struct {
	name string
	log  *[]string
}

func (r recordingPolicy) Name() string { return r.name }

func (r recordingPolicy) Run(ctx context.Context, ex policy.Execution) error {
	*r.log = append(*r.log, r.name+" in")
	err := ex.Next(ctx)
	*r.log = append(*r.log, r.name+" out")
	return err
}

// repeat runs the rest of the pipeline n times, or until it succeeds, and
// records the errors it saw: a minimal retry.
type repeat struct {
	n    int
	seen *[]error
}

func (r repeat) Run(ctx context.Context, ex policy.Execution) error {
	var err error
	for range r.n {
		if err = ex.Next(ctx); r.seen != nil {
			*r.seen = append(*r.seen, err)
		}
		if err == nil {
			return nil
		}
		var pe *policy.PanicError
		if errors.As(err, &pe) {
			return err
		}
	}
	return err
}

// rejecting refuses to run the rest of the pipeline.
type rejecting struct{}

var errClosedForTheDay = fmt.Errorf("closed for the day: %w", policy.ErrRejected)

func (rejecting) Run(ctx context.Context, ex policy.Execution) error {
	ex.Report(policy.Event{Kind: policy.EventBreakerRejected, Reason: "open"})
	return errClosedForTheDay
}

func TestNewValidatesItsArguments(t *testing.T) {
	var nilPtr *recordingPolicy
	tests := []struct {
		name     string
		pipeline string
		policies []policy.Policy
		want     error
		mention  string
	}{
		{"empty name", "", nil, policy.ErrNoName, ""},
		{"nil policy", "api", []policy.Policy{repeat{n: 1}, nil}, policy.ErrNilPolicy, "policy 1"},
		{"typed nil policy", "api", []policy.Policy{nilPtr}, policy.ErrNilPolicy, "policy 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.New(tt.pipeline, tt.policies...)
			if !errors.Is(err, tt.want) || p != nil {
				t.Fatalf("New = %v, %v; want nil, %v", p, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not say which (%q)", err, tt.mention)
			}
		})
	}
	defer func() {
		if recover() == nil {
			t.Error("MustNew with an empty name did not panic")
		}
	}()
	policy.MustNew("")
}

func TestAPipelineWithoutPoliciesRunsTheFunctionOnce(t *testing.T) {
	for _, tel := range []bool{false, true} {
		p := policy.MustNew("bare")
		if tel {
			p = newRecorder().instrument(p)
		}
		boom := errors.New("boom")
		calls := 0
		err := p.Execute(context.Background(), func(ctx context.Context) error {
			calls++
			if n := policy.Attempt(ctx); n != 1 {
				t.Errorf("Attempt = %d, want 1", n)
			}
			return boom
		})
		if err != boom || calls != 1 {
			t.Errorf("telemetry %v: err = %v after %d calls, want the function's error after 1", tel, err, calls)
		}
	}
}

func TestPoliciesRunOutermostFirst(t *testing.T) {
	var log []string
	p := policy.MustNew("order", recordingPolicy{"a", &log}, recordingPolicy{"b", &log})
	if err := p.Execute(context.Background(), func(context.Context) error {
		log = append(log, "fn")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(log, ", "); got != "a in, b in, fn, b out, a out" {
		t.Fatalf("order = %s", got)
	}
}

func TestEachAttemptKnowsItsNumber(t *testing.T) {
	var seen []int
	var counted []int
	p := policy.MustNew("attempts", repeat{n: 3}, attemptCounter{&counted})
	err := p.Execute(context.Background(), func(ctx context.Context) error {
		seen = append(seen, policy.Attempt(ctx))
		return errors.New("again")
	})
	if err == nil || fmt.Sprint(seen) != "[1 2 3]" {
		t.Fatalf("attempt numbers = %v (err %v), want [1 2 3]", seen, err)
	}
	if fmt.Sprint(counted) != "[1 2 3]" {
		t.Errorf("Execution.Attempts after each attempt = %v, want [1 2 3]", counted)
	}
	if n := policy.Attempt(context.Background()); n != 1 {
		t.Errorf("Attempt of a context no pipeline made = %d, want 1", n)
	}
}

// attemptCounter records ex.Attempts after running the rest.
type attemptCounter struct{ log *[]int }

func (a attemptCounter) Run(ctx context.Context, ex policy.Execution) error {
	err := ex.Next(ctx)
	*a.log = append(*a.log, ex.Attempts())
	return err
}

func TestANestedPipelineCountsItsOwnAttempts(t *testing.T) {
	inner := policy.MustNew("inner")
	outer := policy.MustNew("outer", repeat{n: 3})
	var seen []string
	_ = outer.Execute(context.Background(), func(ctx context.Context) error {
		outerN := policy.Attempt(ctx)
		return inner.Execute(ctx, func(ctx context.Context) error {
			seen = append(seen, fmt.Sprintf("%d/%d", outerN, policy.Attempt(ctx)))
			return errors.New("again")
		})
	})
	if got := fmt.Sprint(seen); got != "[1/1 2/1 3/1]" {
		t.Fatalf("outer/inner attempts = %s, want the inner pipeline's first attempt to be 1 each time", got)
	}
}

func TestGetReturnsTheLastAttemptsValue(t *testing.T) {
	p := policy.MustNew("get", repeat{n: 5})
	v, err := policy.Get(context.Background(), p, func(ctx context.Context) (string, error) {
		if n := policy.Attempt(ctx); n < 3 {
			return fmt.Sprint("partial ", n), errors.New("not yet")
		}
		return "done", nil
	})
	if v != "done" || err != nil {
		t.Fatalf("Get = %q, %v; want done, nil", v, err)
	}

	bare := policy.MustNew("bare")
	n, err := policy.Get(context.Background(), bare, func(context.Context) (int, error) { return 42, nil })
	if n != 42 || err != nil {
		t.Fatalf("Get without policies = %d, %v", n, err)
	}
}

// substitute replaces a failed result, as a fallback does, and notes what the
// last attempt produced.
type substitute struct {
	with any
	saw  *any
	ok   *bool
}

func (s substitute) Run(ctx context.Context, ex policy.Execution) error {
	err := ex.Next(ctx)
	*s.saw = ex.Result()
	if err == nil {
		return nil
	}
	*s.ok = ex.SetResult(s.with)
	if *s.ok {
		return nil
	}
	return err
}

func TestPoliciesSeeAndReplaceGetsResult(t *testing.T) {
	var saw any
	var ok bool
	p := policy.MustNew("fallback", substitute{with: "stale", saw: &saw, ok: &ok})
	v, err := policy.Get(context.Background(), p, func(context.Context) (string, error) {
		return "half", errors.New("failed")
	})
	if v != "stale" || err != nil || !ok || saw != "half" {
		t.Fatalf("Get = %q, %v (SetResult %v, Result %v); want stale, nil, true, half", v, err, ok, saw)
	}

	// A value of another type does not fit.
	p = policy.MustNew("misfit", substitute{with: 7, saw: &saw, ok: &ok})
	v, err = policy.Get(context.Background(), p, func(context.Context) (string, error) {
		return "half", errors.New("failed")
	})
	if ok || err == nil || v != "half" {
		t.Fatalf("Get = %q, %v (SetResult %v); want SetResult false and the error kept", v, err, ok)
	}

	// Execute has no result.
	p = policy.MustNew("noresult", substitute{with: "x", saw: &saw, ok: &ok})
	err = p.Execute(context.Background(), func(context.Context) error { return errors.New("failed") })
	if ok || saw != nil || err == nil {
		t.Fatalf("under Execute: Result = %v, SetResult = %v, err = %v; want nil, false, the error", saw, ok, err)
	}
}

func TestAPanicReachesEveryPolicyAsAnErrorThenIsRaisedAgain(t *testing.T) {
	for _, tel := range []bool{false, true} {
		t.Run(fmt.Sprintf("telemetry %v", tel), func(t *testing.T) {
			var log []string
			var seen []error
			p := policy.MustNew("panics", recordingPolicy{"outer", &log}, repeat{n: 3, seen: &seen})
			if tel {
				p = newRecorder().instrument(p)
			}
			calls := 0
			v := recoverFrom(func() {
				_ = p.Execute(context.Background(), func(context.Context) error {
					calls++
					panic("kaboom")
				})
			})
			if v != "kaboom" {
				t.Fatalf("recovered %v, want the original panic value", v)
			}
			if calls != 1 {
				t.Errorf("fn ran %d times; a panic must not be retried by a well-behaved policy", calls)
			}
			var pe *policy.PanicError
			if len(seen) != 1 || !errors.As(seen[0], &pe) || pe.Value != "kaboom" {
				t.Fatalf("the policy saw %v, want one *PanicError", seen)
			}
			if !strings.Contains(string(pe.Stack), "pipeline_test.go") {
				t.Errorf("the PanicError's stack does not show where the panic happened:\n%s", pe.Stack)
			}
			if got := strings.Join(log, ", "); got != "outer in, outer out" {
				t.Errorf("outer policy log = %s; every policy must return before the panic is raised again", got)
			}
		})
	}
}

// swallowing turns every error into success.
type swallowing struct{}

func (swallowing) Run(ctx context.Context, ex policy.Execution) error {
	_ = ex.Next(ctx)
	return nil
}

func TestAPanicCannotBeSwallowedByAPolicy(t *testing.T) {
	p := policy.MustNew("swallow", swallowing{})
	err := errors.New("wrapped")
	v := recoverFrom(func() { _ = p.Execute(context.Background(), func(context.Context) error { panic(err) }) })
	if v != err {
		t.Fatalf("recovered %v, want the panic raised again even though a policy returned nil", v)
	}
}

func TestPanicWithNilIsStillAPanic(t *testing.T) {
	p := policy.MustNew("nilpanic", repeat{n: 2})
	v := recoverFrom(func() { _ = p.Execute(context.Background(), func(context.Context) error { panic(nil) }) })
	if _, ok := v.(*runtime.PanicNilError); !ok {
		t.Fatalf("recovered %T, want *runtime.PanicNilError", v)
	}
}

func recoverFrom(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

func TestADoneContextStartsNoAttempt(t *testing.T) {
	myCause := errors.New("shutting down")
	tests := []struct {
		name     string
		ctx      func() context.Context
		want     error
		notCause bool
	}{
		{"canceled", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, context.Canceled, false},
		{"canceled with a cause that is not context.Canceled", func() context.Context {
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(myCause)
			return ctx
		}, context.Canceled, true},
		{"deadline with a cause that matches", func() context.Context {
			ctx, cancel := context.WithTimeoutCause(context.Background(), 0, matchingCause{})
			defer cancel()
			return ctx
		}, matchingCause{}, false},
	}
	for _, tt := range tests {
		for _, p := range []*policy.Pipeline{policy.MustNew("bare"), policy.MustNew("policy", repeat{n: 3})} {
			t.Run(tt.name+"/"+p.Name(), func(t *testing.T) {
				ran := false
				err := p.Execute(tt.ctx(), func(context.Context) error { ran = true; return nil })
				if ran || !errors.Is(err, tt.want) {
					t.Fatalf("ran = %v, err = %v; want no attempt and %v", ran, err, tt.want)
				}
				if tt.notCause && err == myCause {
					t.Errorf("err is the cause, which hides context.Canceled")
				}
			})
		}
	}
}

// matchingCause is a cause that matches context.DeadlineExceeded, as a
// timeout policy's does.
type matchingCause struct{}

func (matchingCause) Error() string        { return "time is up" }
func (matchingCause) Is(target error) bool { return target == context.DeadlineExceeded }

func TestOutcomeOf(t *testing.T) {
	tests := []struct {
		err  error
		want policy.Outcome
	}{
		{nil, policy.Success},
		{errors.New("x"), policy.Failure},
		{context.Canceled, policy.Failure},
		{errClosedForTheDay, policy.Rejected},
		{fmt.Errorf("wrapped: %w", &policy.PanicError{Value: 1}), policy.Panic},
	}
	for _, tt := range tests {
		if got := policy.OutcomeOf(tt.err); got != tt.want {
			t.Errorf("OutcomeOf(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	for o, want := range map[policy.Outcome]string{policy.Success: "success", policy.Failure: "failure",
		policy.Rejected: "rejected", policy.Panic: "panic", policy.Outcome(99): "unknown"} {
		if o.String() != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", o, o.String(), want)
		}
	}
}

type typedErr struct{}

func (typedErr) Error() string     { return "typed" }
func (typedErr) ErrorType() string { return "my_type" }

func TestErrorType(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("x"), "*errors.errorString"},
		{fmt.Errorf("ctx: %w", context.Canceled), "canceled"},
		{context.DeadlineExceeded, "deadline_exceeded"},
		{fmt.Errorf("wrapped: %w", typedErr{}), "my_type"},
		{&policy.PanicError{Value: "x"}, "panic"},
	}
	for _, tt := range tests {
		if got := policy.ErrorType(tt.err); got != tt.want {
			t.Errorf("ErrorType(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestPanicErrorUnwrapsAnErrorValue(t *testing.T) {
	inner := errors.New("inner")
	if !errors.Is(&policy.PanicError{Value: inner}, inner) {
		t.Error("a PanicError of an error does not unwrap to it")
	}
	if (&policy.PanicError{Value: "text"}).Unwrap() != nil {
		t.Error("a PanicError of a string unwraps to something")
	}
	if got := (&policy.PanicError{Value: "text"}).Error(); got != "policy: panic: text" {
		t.Errorf("Error() = %q", got)
	}
}

func TestEventKindNames(t *testing.T) {
	want := map[policy.EventKind]string{
		policy.EventRetry: "retry", policy.EventRetryExhausted: "retry.exhausted",
		policy.EventRetryBudgetExhausted: "retry.budget_exhausted", policy.EventBreakerRejected: "breaker.rejected",
		policy.EventBreakerStateChange: "breaker.state_change", policy.EventTimeout: "timeout",
		policy.EventBulkheadRejected: "bulkhead.rejected", policy.EventBulkheadQueued: "bulkhead.queued",
		policy.EventFallback: "fallback", policy.EventHedge: "hedge", policy.EventSLOAlert: "slo.alert_change",
		policy.EventRateLimitRejected: "ratelimit.rejected", policy.EventRateLimitWaited: "ratelimit.waited",
		policy.EventRateLimitBackend: "ratelimit.backend_change", policy.EventThrottleRejected: "throttle.rejected",
		0: "unknown", 200: "unknown",
	}
	for k, name := range want {
		if k.String() != name {
			t.Errorf("EventKind(%d).String() = %q, want %q", k, k.String(), name)
		}
	}
}

func TestConcurrentExecutionsShareNothing(t *testing.T) {
	rec := newRecorder()
	p := rec.instrument(policy.MustNew("shared", repeat{n: 3}))
	var wg sync.WaitGroup
	const n = 64
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			v, err := policy.Get(context.Background(), p, func(ctx context.Context) (int, error) {
				if policy.Attempt(ctx) < 1+i%3 {
					return 0, errors.New("again")
				}
				return i, nil
			})
			if err == nil && v != i {
				err = fmt.Errorf("got %d, want %d", v, i)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("execution %d: %v", i, err)
		}
	}
	if got := len(rec.spansNamed("shared execute")); got != n {
		t.Errorf("%d execution spans, want %d", got, n)
	}
	want := 0
	for i := range n {
		want += 1 + i%3
	}
	if got := len(rec.spansNamed("shared attempt")); got != want {
		t.Errorf("%d attempt spans, want %d", got, want)
	}
}

func TestANilFunctionIsAnErrorNotAPanic(t *testing.T) {
	var log []string
	p := policy.MustNew("nil", recordingPolicy{"outer", &log})
	if err := p.Execute(context.Background(), nil); !errors.Is(err, policy.ErrNilFunc) {
		t.Errorf("Execute(nil) = %v, want ErrNilFunc", err)
	}
	if _, err := policy.Get[int](context.Background(), p, nil); !errors.Is(err, policy.ErrNilFunc) {
		t.Errorf("Get(nil) = %v, want ErrNilFunc", err)
	}
	if len(log) != 0 {
		t.Errorf("policies ran for a nil function: %v", log)
	}
}
