package bulkhead_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/policy"
)

// queueUp starts a call that waits for a permit of b, holds it until its
// permit's done channel is closed, and returns once the call is queued. The
// result channel gets the call's error when Acquire returns.
func queueUp(t *testing.T, b *bulkhead.Bulkhead, ctx context.Context, done <-chan struct{}) <-chan error {
	t.Helper()
	result := make(chan error, 1)
	before := b.Stats().Queued
	go func() {
		release, err := b.Acquire(ctx)
		result <- err
		if err == nil {
			<-done
			release()
		}
	}()
	synctest.Wait()
	if got := b.Stats().Queued; got != before+1 {
		t.Fatalf("Queued = %d after a call joined the queue, want %d", got, before+1)
	}
	return result
}

func TestWaitersAreServedInArrivalOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, "fifo", bulkhead.Config{MaxConcurrent: 1, MaxQueue: 8})
		hold(t, b, 1)
		var order []int
		served := make(chan int)
		for i := range 8 {
			go func() {
				release, err := b.Acquire(context.Background())
				if err != nil {
					t.Errorf("waiter %d: %v", i, err)
					return
				}
				served <- i
				release()
			}()
			synctest.Wait() // waiter i is queued before waiter i+1 arrives
		}
		if s := b.Stats(); s.Queued != 8 {
			t.Fatalf("Stats() = %+v, want 8 queued", s)
		}
		b.Release()
		for range 8 {
			order = append(order, <-served)
		}
		if got, want := fmt.Sprint(order), "[0 1 2 3 4 5 6 7]"; got != want {
			t.Errorf("served in order %s, want %s", got, want)
		}
		synctest.Wait()
		wantIdle(t, b)
	})
}

func TestNewcomersDoNotOvertakeWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, "fair", bulkhead.Config{MaxConcurrent: 1, MaxQueue: 2})
		hold(t, b, 1)
		done := make(chan struct{})
		first := queueUp(t, b, context.Background(), done)
		b.Release() // the permit goes to the waiter, not to whoever asks next
		if b.TryAcquire() {
			t.Error("TryAcquire took the permit released for a waiter")
		}
		if err := <-first; err != nil {
			t.Errorf("waiter: %v", err)
		}
		if s := b.Stats(); s.InFlight != 1 || s.Queued != 0 {
			t.Errorf("Stats() = %+v, want the waiter holding the one permit", s)
		}
		close(done)
		synctest.Wait()
		wantIdle(t, b)
	})
}

func TestMaxWaitRefusesAfterTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, "slow", bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1, MaxWait: 100 * time.Millisecond})
		hold(t, b, 1)
		start := time.Now()
		called := false
		err := b.Execute(context.Background(), func(context.Context) error { called = true; return nil })
		if waited := time.Since(start); waited != 100*time.Millisecond {
			t.Errorf("refused after %v, want MaxWait, 100ms", waited)
		}
		var re *bulkhead.RejectedError
		switch {
		case called:
			t.Error("the function ran without a permit")
		case !errors.Is(err, bulkhead.ErrWaitTimeout):
			t.Errorf("error %v does not match ErrWaitTimeout", err)
		case !errors.Is(err, policy.ErrRejected):
			t.Errorf("error %v does not match policy.ErrRejected", err)
		case errors.Is(err, bulkhead.ErrFull):
			t.Errorf("error %v of a wait that ran out matches ErrFull", err)
		case errors.Is(err, context.DeadlineExceeded):
			t.Errorf("error %v matches context.DeadlineExceeded: the caller's context did not end", err)
		case !errors.As(err, &re) || re.MaxWait != 100*time.Millisecond || re.Reason() != bulkhead.ReasonMaxWait:
			t.Errorf("error %#v, want a *RejectedError with MaxWait 100ms and reason max_wait", err)
		case policy.ErrorType(err) != "bulkhead_wait_timeout":
			t.Errorf("ErrorType = %q, want bulkhead_wait_timeout", policy.ErrorType(err))
		}
		if s := b.Stats(); s.Queued != 0 || s.InFlight != 1 || s.TimedOut != 1 || s.Rejected != 0 {
			t.Errorf("Stats() = %+v, want the holder alone, 1 timed out", s)
		}
		b.Release()
		wantIdle(t, b)
	})
}

func TestPermitBeforeMaxWaitIsTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, "b", bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1, MaxWait: 100 * time.Millisecond})
		hold(t, b, 1)
		go func() {
			time.Sleep(99 * time.Millisecond)
			b.Release()
		}()
		start := time.Now()
		err := b.Execute(context.Background(), func(context.Context) error { return nil })
		if err != nil || time.Since(start) != 99*time.Millisecond {
			t.Errorf("Execute = %v after %v, want nil after 99ms", err, time.Since(start))
		}
		wantIdle(t, b)
	})
}

func TestFullQueueRefusesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, "b", bulkhead.Config{MaxConcurrent: 1, MaxQueue: 2, MaxWait: time.Second})
		hold(t, b, 1)
		done := make(chan struct{})
		w1 := queueUp(t, b, context.Background(), done)
		w2 := queueUp(t, b, context.Background(), done)
		start := time.Now()
		_, err := b.Acquire(context.Background())
		if !errors.Is(err, bulkhead.ErrFull) || time.Since(start) != 0 {
			t.Errorf("Acquire with a full queue = %v after %v, want ErrFull at once", err, time.Since(start))
		}
		b.Release()
		close(done)
		if err1, err2 := <-w1, <-w2; err1 != nil || err2 != nil {
			t.Errorf("waiters: %v, %v", err1, err2)
		}
		synctest.Wait()
		wantIdle(t, b)
	})
}

func TestContextEndsTheWait(t *testing.T) {
	cause := errors.New("client went away")
	tests := []struct {
		name string
		ctx  func() (context.Context, func()) // the context, and what ends it
		want []error                          // the error matches all of these
		not  []error                          // and none of these
	}{
		{
			name: "cancel",
			ctx: func() (context.Context, func()) {
				return context.WithCancel(context.Background())
			},
			want: []error{context.Canceled},
			not:  []error{policy.ErrRejected, bulkhead.ErrWaitTimeout},
		},
		{
			name: "cancel with a cause",
			ctx: func() (context.Context, func()) {
				ctx, cancel := context.WithCancelCause(context.Background())
				return ctx, func() { cancel(cause) }
			},
			want: []error{context.Canceled},
			not:  []error{policy.ErrRejected},
		},
		{
			name: "deadline before MaxWait",
			ctx: func() (context.Context, func()) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
				return ctx, func() { time.Sleep(time.Second); cancel() }
			},
			want: []error{context.DeadlineExceeded},
			not:  []error{policy.ErrRejected, bulkhead.ErrWaitTimeout},
		},
		{
			name: "deadline with a cause that matches",
			ctx: func() (context.Context, func()) {
				err := fmt.Errorf("per-call budget: %w", context.DeadlineExceeded)
				ctx, cancel := context.WithTimeoutCause(context.Background(), 30*time.Millisecond, err)
				return ctx, func() { time.Sleep(time.Second); cancel() }
			},
			want: []error{context.DeadlineExceeded},
			not:  []error{policy.ErrRejected},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := mustNew(t, "b", bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1, MaxWait: 100 * time.Millisecond})
				hold(t, b, 1)
				ctx, end := tt.ctx()
				result := queueUp(t, b, ctx, nil)
				end()
				err := <-result
				for _, w := range tt.want {
					if !errors.Is(err, w) {
						t.Errorf("error %v does not match %v", err, w)
					}
				}
				for _, n := range tt.not {
					if errors.Is(err, n) {
						t.Errorf("error %v matches %v", err, n)
					}
				}
				if s := b.Stats(); s.Queued != 0 || s.TimedOut != 0 {
					t.Errorf("Stats() = %+v, want the waiter gone and no timeout counted", s)
				}
				// The permit released now must not go to the caller who left.
				b.Release()
				synctest.Wait()
				wantIdle(t, b)
			})
		})
	}
}

func TestDoneContextDoesNotQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, "b", bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1})
		hold(t, b, 1)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := b.Acquire(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Acquire with a done context in a full bulkhead = %v, want context.Canceled", err)
		}
		if s := b.Stats(); s.Queued != 0 {
			t.Errorf("Stats() = %+v, want nobody queued", s)
		}
		b.Release()
	})
}

func TestCancelledWaiterLeavesItsPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, "b", bulkhead.Config{MaxConcurrent: 1, MaxQueue: 3})
		hold(t, b, 1)
		done := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		first := queueUp(t, b, context.Background(), done)
		middle := queueUp(t, b, ctx, done)
		last := queueUp(t, b, context.Background(), done)
		cancel()
		if err := <-middle; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled waiter: %v", err)
		}
		if got := b.Stats().Queued; got != 2 {
			t.Errorf("Queued = %d after one of three waiters left, want 2", got)
		}
		b.Release()
		if err := <-first; err != nil {
			t.Errorf("first waiter: %v", err)
		}
		select {
		case err := <-last:
			t.Errorf("last waiter served (%v) while the first holds the permit", err)
		default:
		}
		close(done) // the first releases, and the permit goes to the last
		if err := <-last; err != nil {
			t.Errorf("last waiter: %v", err)
		}
		synctest.Wait()
		wantIdle(t, b)
	})
}

// TestGiveUpAsPermitArrives ends a waiter's context and releases the permit
// it waits for back to back, in both orders. Cancel-then-release is the race
// where the permit is handed to the waiter as it gives up (the waiter wakes
// for its context, then finds the permit granted): the waiter must still
// return its context's error and pass the permit on, never holding it.
// Release-then-cancel serves the waiter, which returns nil. Either way the
// next waiter gets the permit in the end and none is lost.
func TestGiveUpAsPermitArrives(t *testing.T) {
	tests := []struct {
		name       string
		cancelWins bool
	}{
		{"cancel then release", true},
		{"release then cancel", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 50 { // scheduling varies between runs
				synctest.Test(t, func(t *testing.T) {
					b := mustNew(t, "b", bulkhead.Config{MaxConcurrent: 1, MaxQueue: 2})
					hold(t, b, 1)
					done := make(chan struct{})
					ctx, cancel := context.WithCancel(context.Background())
					quitter := queueUp(t, b, ctx, done)
					next := queueUp(t, b, context.Background(), done)
					if tt.cancelWins {
						cancel()
						b.Release()
					} else {
						b.Release()
						cancel()
					}
					err := <-quitter
					if tt.cancelWins {
						if !errors.Is(err, context.Canceled) {
							t.Fatalf("quitter: %v, want context.Canceled", err)
						}
						if err := <-next; err != nil {
							t.Errorf("next waiter: %v", err)
						}
						if s := b.Stats(); s.InFlight != 1 || s.Queued != 0 {
							t.Errorf("Stats() = %+v, want the next waiter holding the permit", s)
						}
					} else {
						if err != nil {
							t.Fatalf("quitter: %v, want nil: the permit came first", err)
						}
						synctest.Wait()
						if s := b.Stats(); s.InFlight != 1 || s.Queued != 1 {
							t.Errorf("Stats() = %+v, want the quitter holding the permit and the next waiting", s)
						}
					}
					close(done)
					if !tt.cancelWins {
						if err := <-next; err != nil {
							t.Errorf("next waiter: %v", err)
						}
					}
					synctest.Wait()
					wantIdle(t, b)
				})
			}
		})
	}
}
