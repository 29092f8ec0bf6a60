package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
)

var errFlaky = errors.New("flaky")

// flaky is a function that fails with the errors it is given, in order, then
// succeeds; it counts its calls.
type flaky struct {
	errs  []error
	calls int
}

func failing(errs ...error) *flaky { return &flaky{errs: errs} }

// times returns n copies of err.
func times(n int, err error) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

func (f *flaky) run(context.Context) error {
	f.calls++
	if f.calls <= len(f.errs) {
		return f.errs[f.calls-1]
	}
	return nil
}

func mustNew(t *testing.T, cfg retry.Config, opts ...retry.Option) *retry.Retry {
	t.Helper()
	r, err := retry.New(cfg, opts...)
	if err != nil {
		t.Fatalf("retry.New(%+v): %v", cfg, err)
	}
	return r
}

// pipeline returns a pipeline of the policies with telemetry off.
func pipeline(t *testing.T, policies ...policy.Policy) *policy.Pipeline {
	t.Helper()
	p, err := policy.New("test", policies...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runners are the three ways to run a function with a retry config.
var runners = []struct {
	name string
	run  func(t *testing.T, ctx context.Context, cfg retry.Config, fn func(context.Context) error, opts ...retry.Option) error
}{
	{"pipeline", func(t *testing.T, ctx context.Context, cfg retry.Config, fn func(context.Context) error, opts ...retry.Option) error {
		return pipeline(t, mustNew(t, cfg, opts...)).Execute(ctx, fn)
	}},
	{"Do", func(_ *testing.T, ctx context.Context, cfg retry.Config, fn func(context.Context) error, opts ...retry.Option) error {
		return retry.Do(ctx, cfg, fn, opts...)
	}},
	{"Get", func(_ *testing.T, ctx context.Context, cfg retry.Config, fn func(context.Context) error, opts ...retry.Option) error {
		_, err := retry.Get(ctx, cfg, func(ctx context.Context) (int, error) { return 0, fn(ctx) }, opts...)
		return err
	}},
}

func TestPersistentFailureMakesMaxRetriesPlusOneAttempts(t *testing.T) {
	for _, rn := range runners {
		for _, maxRetries := range []int{0, 1, 5, retry.NoRetries} {
			want := maxRetries + 1
			switch maxRetries {
			case 0:
				want = retry.DefaultMaxRetries + 1
			case retry.NoRetries:
				want = 1
			}
			t.Run(fmt.Sprintf("%s/MaxRetries=%d", rn.name, maxRetries), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					f := failing(times(100, errFlaky)...)
					err := rn.run(t, context.Background(), retry.Config{MaxRetries: maxRetries}, f.run)
					if f.calls != want {
						t.Errorf("calls = %d, want %d", f.calls, want)
					}
					var ex *retry.ExhaustedError
					if !errors.As(err, &ex) || ex.Attempts != want || ex.Err != errFlaky {
						t.Fatalf("err = %v, want an *ExhaustedError of %d attempts wrapping the last error", err, want)
					}
					if !errors.Is(err, retry.ErrExhausted) || !errors.Is(err, errFlaky) || errors.Unwrap(err) != errFlaky {
						t.Errorf("err = %v: want it to match ErrExhausted and unwrap to %v", err, errFlaky)
					}
					if got := policy.ErrorType(err); got != "retry_exhausted" {
						t.Errorf("ErrorType = %q, want retry_exhausted", got)
					}
				})
			})
		}
	}
}

func TestSuccessOnTheThirdAttemptReturnsTheValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := failing(errFlaky, errFlaky)
		get := func(ctx context.Context) (string, error) {
			if err := f.run(ctx); err != nil {
				return "", err
			}
			return fmt.Sprintf("ok on attempt %d", policy.Attempt(ctx)), nil
		}
		v, err := policy.Get(context.Background(), pipeline(t, mustNew(t, retry.Config{})), get)
		if err != nil || v != "ok on attempt 3" || f.calls != 3 {
			t.Errorf("policy.Get = %q, %v after %d calls; want the third attempt's value", v, err, f.calls)
		}

		f = failing(errFlaky, errFlaky)
		v, err = retry.Get(context.Background(), retry.Config{}, get)
		if err != nil || v != "ok on attempt 1" || f.calls != 3 { // Do and Get set no attempt number
			t.Errorf("retry.Get = %q, %v after %d calls; want the third call's value", v, err, f.calls)
		}
	})
}

// httpError is a value-type error, matched by RetryIf.
type httpError struct{ status int }

func (e httpError) Error() string { return fmt.Sprintf("status %d", e.status) }

func TestWhichErrorsAreRetried(t *testing.T) {
	opErr := &net.OpError{Op: "dial", Err: errors.New("refused")}
	tests := []struct {
		name  string
		cfg   retry.Config
		err   error
		retry bool
	}{
		{"any error, by default", retry.Config{}, errFlaky, true},
		{"a wrapped error, by default", retry.Config{}, fmt.Errorf("call: %w", errFlaky), true},
		{"a listed error, through errors.Is", retry.Config{RetryOn: []error{io.ErrUnexpectedEOF}}, fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"an error not listed", retry.Config{RetryOn: []error{io.ErrUnexpectedEOF}}, errFlaky, false},
		{"a listed type, through errors.As", retry.Config{RetryOn: []error{(*net.OpError)(nil)}}, fmt.Errorf("call: %w", opErr), true},
		{"a type not listed", retry.Config{RetryOn: []error{(*net.OpError)(nil)}}, &net.DNSError{}, false},
		{"a listed pointer value matches only itself", retry.Config{RetryOn: []error{&net.OpError{}}}, opErr, false},
		{"an error the predicate accepts", retry.Config{RetryIf: func(err error) bool {
			var h httpError
			return errors.As(err, &h) && h.status >= 500
		}}, httpError{503}, true},
		{"an error the predicate refuses", retry.Config{RetryIf: func(err error) bool {
			var h httpError
			return errors.As(err, &h) && h.status >= 500
		}}, httpError{404}, false},
		{"list or predicate", retry.Config{RetryOn: []error{io.EOF}, RetryIf: func(err error) bool { return err == errFlaky }}, errFlaky, true},
		{"a permanent error", retry.Config{}, retry.Permanent(errFlaky), false},
		{"an error that says not to retry", retry.Config{}, pushback{-1}, false},
		{"a rejection, by default", retry.Config{}, rejection{after: time.Second}, false},
		{"the caller's error that happens to be context.Canceled", retry.Config{}, context.Canceled, true},
	}
	for _, tt := range tests {
		for _, rn := range runners {
			t.Run(tt.name+"/"+rn.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					f := failing(tt.err, tt.err)
					err := rn.run(t, context.Background(), tt.cfg, f.run)
					if tt.retry {
						if f.calls != 3 || err != nil {
							t.Errorf("calls = %d, err = %v; want the error retried until success on the third call", f.calls, err)
						}
						return
					}
					if f.calls != 1 || err != tt.err {
						t.Errorf("calls = %d, err = %v; want one call returning %v unchanged", f.calls, err, tt.err)
					}
				})
			})
		}
	}
}

func TestPermanentKeepsTheErrorVisible(t *testing.T) {
	err := retry.Permanent(fmt.Errorf("lookup: %w", io.EOF))
	if !errors.Is(err, io.EOF) || err.Error() != "lookup: EOF" {
		t.Errorf("Permanent = %v, want it to match and read as the error it wraps", err)
	}
	if retry.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	if got := policy.ErrorType(retry.Permanent(io.EOF)); got != "*errors.errorString" {
		t.Errorf("ErrorType = %q, want the wrapped error's type", got)
	}
}

func TestAPanicIsNeverRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		boom := func(context.Context) error { calls++; panic("boom") }
		budget, _ := retry.NewConcurrencyBudget(20, 3)
		r := mustNew(t, retry.Config{RetryIf: func(error) bool { return true }}, retry.WithBudget(budget))

		for name, run := range map[string]func(){
			"pipeline": func() { _ = pipeline(t, r).Execute(context.Background(), boom) },
			"Do":       func() { _ = retry.Do(context.Background(), retry.Config{}, boom, retry.WithBudget(budget)) },
		} {
			calls = 0
			got := func() (v any) {
				defer func() { v = recover() }()
				run()
				return nil
			}()
			if got != "boom" || calls != 1 {
				t.Errorf("%s: recovered %v after %d calls; want the panic after one call", name, got, calls)
			}
			if execs, retries := budget.InFlight(); execs != 0 || retries != 0 {
				t.Errorf("%s: budget in flight = %d executions, %d retries after the panic; want 0, 0", name, execs, retries)
			}
		}
	})
}

func TestTheCallersCancellationIsNotRetried(t *testing.T) {
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				calls := 0
				err := rn.run(t, ctx, retry.Config{}, func(ctx context.Context) error {
					calls++
					cancel()
					return ctx.Err()
				})
				if calls != 1 || err != context.Canceled {
					t.Errorf("calls = %d, err = %v; want one call and context.Canceled unchanged", calls, err)
				}

				// An error that is not the context's, while the context is done:
				// both are in the error.
				ctx, cancel = context.WithCancel(context.Background())
				calls = 0
				err = rn.run(t, ctx, retry.Config{}, func(ctx context.Context) error {
					calls++
					cancel()
					return errFlaky
				})
				if calls != 1 || !errors.Is(err, context.Canceled) || !errors.Is(err, errFlaky) {
					t.Errorf("calls = %d, err = %v; want one call, and an error matching context.Canceled and the attempt's", calls, err)
				}
			})
		})
	}
}

func TestAContextDoneBeforeTheFirstAttempt(t *testing.T) {
	// A pipeline runs nothing, and neither do Do and Get, with telemetry on
	// or off: they end with the context's error.
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(errors.New("shutting down"))
			calls := 0
			err := rn.run(t, ctx, retry.Config{}, func(ctx context.Context) error {
				calls++
				return ctx.Err()
			})
			if !errors.Is(err, context.Canceled) || calls != 0 {
				t.Errorf("err = %v after %d calls; want context.Canceled and no call", err, calls)
			}
		})
	}
}

func TestAPerAttemptTimeoutIsRetried(t *testing.T) {
	// A timeout inside the retry ends its attempt with an error matching
	// context.DeadlineExceeded while the caller's context is alive: that is
	// a failure of the attempt, worth retrying.
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				calls := 0
				err := rn.run(t, context.Background(), retry.Config{}, func(ctx context.Context) error {
					calls++
					if calls == 3 {
						return nil
					}
					actx, cancel := context.WithTimeout(ctx, time.Second)
					defer cancel()
					<-actx.Done()
					return actx.Err()
				})
				if err != nil || calls != 3 {
					t.Errorf("err = %v after %d calls; want the per-attempt timeouts retried", err, calls)
				}
			})
		})
	}
}

func TestTheCallersDeadlineIsNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		calls := 0
		err := retry.Do(ctx, retry.Config{}, func(ctx context.Context) error {
			calls++
			<-ctx.Done()
			return ctx.Err()
		})
		if calls != 1 || err != context.DeadlineExceeded {
			t.Errorf("calls = %d, err = %v; want one call and the caller's context.DeadlineExceeded", calls, err)
		}
	})
}

func TestNewRejectsInvalidConfigNamingTheField(t *testing.T) {
	tests := []struct {
		cfg   retry.Config
		field string
	}{
		{retry.Config{MaxRetries: -2}, "MaxRetries"},
		{retry.Config{BaseDelay: -time.Second}, "BaseDelay"},
		{retry.Config{MaxDelay: -time.Second}, "MaxDelay"},
		{retry.Config{BaseDelay: 2 * time.Second, MaxDelay: time.Second}, "MaxDelay"},
		{retry.Config{Strategy: retry.Strategy(9)}, "Strategy"},
		{retry.Config{Jitter: retry.Jitter(9)}, "Jitter"},
		{retry.Config{RetryOn: []error{io.EOF, nil}}, "RetryOn[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			_, err := retry.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), "Config."+tt.field) {
				t.Errorf("New(%+v) = %v, want an error naming Config.%s", tt.cfg, err, tt.field)
			}
			calls := 0
			fn := func(context.Context) error { calls++; return nil }
			if err := retry.Do(context.Background(), tt.cfg, fn); err == nil || calls != 0 {
				t.Errorf("Do ran %d times and returned %v; want the constructor's error and no call", calls, err)
			}
			if _, err := retry.Get(context.Background(), tt.cfg, func(context.Context) (int, error) { calls++; return 1, nil }); err == nil || calls != 0 {
				t.Errorf("Get ran %d times and returned %v; want the constructor's error and no call", calls, err)
			}
		})
	}
}

func TestAZeroMaxDelayIsAtLeastBaseDelay(t *testing.T) {
	r := mustNew(t, retry.Config{BaseDelay: time.Minute, Jitter: retry.NoJitter})
	if d := r.Delay(5, 0, nil); d != time.Minute {
		t.Errorf("Delay(5) = %v, want the 1m BaseDelay, which the default MaxDelay must not cut", d)
	}
}

func TestNameAndOptions(t *testing.T) {
	if got := mustNew(t, retry.Config{}).Name(); got != "retry" {
		t.Errorf("Name = %q, want retry", got)
	}
	r := mustNew(t, retry.Config{}, nil, retry.WithName(""), retry.WithName("payments-retry"),
		retry.WithOnRetry(nil), retry.WithOnExhausted(nil), retry.WithBudget(nil), retry.WithBudget((*retry.TokenBucket)(nil)),
		retry.WithRetryIfResult[int](nil))
	if got := r.Name(); got != "payments-retry" {
		t.Errorf("Name = %q, want payments-retry", got)
	}
	synctest.Test(t, func(t *testing.T) {
		f := failing(errFlaky)
		if err := r.Execute(context.Background(), f.run); err != nil || f.calls != 2 {
			t.Errorf("Execute = %v after %d calls, want success on the retry: nil options must be ignored", err, f.calls)
		}
	})
}

func TestTheConfigsRetryOnIsCopied(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		list := []error{errFlaky}
		r := mustNew(t, retry.Config{RetryOn: list})
		list[0] = io.EOF
		f := failing(errFlaky)
		if err := r.Execute(context.Background(), f.run); err != nil || f.calls != 2 {
			t.Errorf("Execute = %v after %d calls; want the retry configured with the list as it was", err, f.calls)
		}
	})
}

func TestARetryIsSafeForConcurrentUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var exhausted, retried atomic.Int64
		done := make(chan struct{})
		r := mustNew(t, retry.Config{MaxRetries: 2},
			retry.WithOnRetry(func(string, int, time.Duration) { retried.Add(1) }),
			retry.WithOnExhausted(func(string, int) { exhausted.Add(1) }))
		p := pipeline(t, r)
		const n = 50
		for i := range n {
			go func() {
				defer func() { done <- struct{}{} }()
				f := failing(times(i%4, errFlaky)...)
				err := p.Execute(context.Background(), f.run)
				if (i%4 < 3) != (err == nil) {
					t.Errorf("execution %d: %v after %d calls", i, err, f.calls)
				}
			}()
		}
		for range n {
			<-done
		}
		// Execution i fails i%4 times; MaxRetries 2 allows 2 retries.
		var wantRetried, wantExhausted int64
		for i := range n {
			wantRetried += int64(min(i%4, 2))
			if i%4 == 3 {
				wantExhausted++
			}
		}
		if retried.Load() != wantRetried || exhausted.Load() != wantExhausted {
			t.Errorf("retries = %d, exhaustions = %d; want %d, %d", retried.Load(), exhausted.Load(), wantRetried, wantExhausted)
		}
	})
}

func TestANilFunctionIsAnError(t *testing.T) {
	if err := retry.Do(context.Background(), retry.Config{}, nil); !errors.Is(err, policy.ErrNilFunc) {
		t.Errorf("Do(nil) = %v, want policy.ErrNilFunc", err)
	}
	if _, err := retry.Get[int](context.Background(), retry.Config{}, nil); !errors.Is(err, policy.ErrNilFunc) {
		t.Errorf("Get(nil) = %v, want policy.ErrNilFunc", err)
	}
}
