package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/policy"
)

func TestCanceledCallsAreIgnored(t *testing.T) {
	t.Run("returned by the function", func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1})
		canceled := func(context.Context) error { return fmt.Errorf("reading: %w", context.Canceled) }
		for range 3 {
			call(t, b, canceled)
		}
		wantState(t, b, breaker.Closed)
	})
	t.Run("context done before the call", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 1})
			trip(t, b, 1)
			time.Sleep(time.Minute)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := b.Execute(ctx, func(context.Context) error {
				t.Fatal("ran with a done context")
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want context.Canceled", err)
			}
			expired, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			time.Sleep(time.Second)
			synctest.Wait() // the deadline's timer has fired
			if err := b.Execute(expired, succeed); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error %v, want context.DeadlineExceeded", err)
			}
			if st := b.Status(); st.Trials != 0 || st.Failures != 0 {
				t.Fatalf("status %+v: calls that never started were counted", st)
			}
		})
	})
	t.Run("trial", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, breaker.Config{FailureThreshold: 1, HalfOpenMaxRequests: 1, SuccessThreshold: 1})
			trip(t, b, 1)
			time.Sleep(time.Minute)
			call(t, b, func(context.Context) error { return context.Canceled })
			wantState(t, b, breaker.HalfOpen)
			call(t, b, succeed)
			wantState(t, b, breaker.Closed)
		})
	})
}

func TestClassifierDecidesWhatCounts(t *testing.T) {
	errNotFound := errors.New("not found")
	errBusy := errors.New("busy")
	classify := func(err error) breaker.Verdict {
		switch {
		case errors.Is(err, errNotFound):
			return breaker.Success // the dependency answered
		case errors.Is(err, errBusy):
			return breaker.Ignore
		}
		return breaker.Failure
	}
	for _, tc := range []struct {
		name string
		errs []error
		want breaker.State
	}{
		{"failures open", []error{errBoom, errBoom}, breaker.Open},
		{"a success resets", []error{errBoom, errNotFound, errBoom}, breaker.Closed},
		{"ignored in between", []error{errBoom, errBusy, errBoom}, breaker.Open},
		{"deadline is a failure", []error{context.DeadlineExceeded, errBoom}, breaker.Open},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBreaker(t, breaker.Config{FailureThreshold: 2, Classifier: classify})
			for _, err := range tc.errs {
				call(t, b, func(context.Context) error { return err })
			}
			wantState(t, b, tc.want)
		})
	}
	t.Run("a panic is a failure whatever the classifier says", func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1, Classifier: func(error) breaker.Verdict { return breaker.Ignore }})
		func() {
			defer func() { _ = recover() }()
			b.Execute(context.Background(), func(context.Context) error { panic(errNotFound) })
		}()
		wantState(t, b, breaker.Open)
	})
}

func TestDefaultClassifier(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want breaker.Verdict
	}{
		{errBoom, breaker.Failure},
		{context.DeadlineExceeded, breaker.Failure},
		{context.Canceled, breaker.Ignore},
		{fmt.Errorf("wrapped: %w", context.Canceled), breaker.Ignore},
		{fmt.Errorf("inner bulkhead: %w", policy.ErrRejected), breaker.Ignore},
	} {
		if got := breaker.DefaultClassifier(tc.err); got != tc.want {
			t.Errorf("DefaultClassifier(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
