package breaker_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/stretchr/testify/require"
)

// outcomes runs one call per letter: F fails, S succeeds, I is ignored.
func outcomes(t *testing.T, b *breaker.Breaker, seq string) {
	t.Helper()
	for _, c := range seq {
		switch c {
		case 'F':
			call(t, b, fail)
		case 'S':
			call(t, b, succeed)
		case 'I':
			call(t, b, func(context.Context) error { return context.Canceled })
		}
	}
}

func TestCountWindowRateIsOverExactlyTheLastSizeCalls(t *testing.T) {
	for _, tc := range []struct {
		seq      string
		want     breaker.State
		failures int
		calls    int
	}{
		{"FSS", breaker.Closed, 1, 3},     // fewer than MinimumCalls: no rate yet
		{"FSSS", breaker.Closed, 1, 4},    // 1/4
		{"FSSSF", breaker.Closed, 1, 4},   // the first F has left: 1/4, not 2/5
		{"FSSSFF", breaker.Open, 0, 0},    // 2/4 reaches 0.5
		{"SFFSS", breaker.Open, 0, 0},     // 2/4 at the fourth call: the fifth is rejected
		{"SSSSFF", breaker.Open, 0, 0},    // S,S,F,F
		{"FIIISSS", breaker.Closed, 1, 4}, // ignored calls do not enter the window
	} {
		t.Run(tc.seq, func(t *testing.T) {
			b := newBreaker(t, breaker.Config{Window: &breaker.Window{Size: 4, FailureRateThreshold: 0.5}})
			outcomes(t, b, tc.seq)
			wantState(t, b, tc.want)
			st := b.Status()
			if st.Failures != tc.failures || st.Calls != tc.calls {
				t.Fatalf("status %+v: want %d failures in %d calls", st, tc.failures, tc.calls)
			}
			if tc.calls > 0 {
				if want := float64(tc.failures) / float64(tc.calls); st.FailureRate != want {
					t.Fatalf("FailureRate %v, want %v", st.FailureRate, want)
				}
			}
		})
	}
}

func TestWindowMinimumCalls(t *testing.T) {
	for _, tc := range []struct {
		name     string
		window   breaker.Window
		failures int // consecutive failures that open it
	}{
		{"explicit", breaker.Window{Size: 10, MinimumCalls: 5}, 5},
		{"defaults to Size when below 100", breaker.Window{Size: 10}, 10},
		{"defaults to 100", breaker.Window{Size: 500}, 100},
		{"time-based defaults to 100", breaker.Window{Duration: time.Minute}, 100},
		{"time-based explicit", breaker.Window{Duration: time.Minute, MinimumCalls: 3}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBreaker(t, breaker.Config{Window: &tc.window})
				for i := 1; i < tc.failures; i++ {
					call(t, b, fail)
				}
				wantState(t, b, breaker.Closed)
				call(t, b, fail)
				wantState(t, b, breaker.Open)
			})
		})
	}
}

func TestTimeWindowHoldsTheCallsOfItsDuration(t *testing.T) {
	cfg := breaker.Config{Window: &breaker.Window{Duration: 10 * time.Second, Buckets: 10, MinimumCalls: 2, FailureRateThreshold: 0.5}}
	t.Run("a call ended just under Duration ago is in", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, cfg)
			call(t, b, fail) // at 0s, in the window's first step
			time.Sleep(10*time.Second - time.Nanosecond)
			if st := b.Status(); st.Calls != 1 || st.Failures != 1 {
				t.Fatalf("status %+v: want the failure still in the window", st)
			}
			call(t, b, succeed) // 1/2
			wantState(t, b, breaker.Open)
		})
	})
	t.Run("a call ended Duration ago is out", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, cfg)
			call(t, b, fail)
			time.Sleep(10 * time.Second)
			if st := b.Status(); st.Calls != 0 {
				t.Fatalf("status %+v: want an empty window", st)
			}
			call(t, b, succeed)
			wantState(t, b, breaker.Closed)
		})
	})
	t.Run("the window slides in steps", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, cfg)
			time.Sleep(500 * time.Millisecond)
			call(t, b, fail) // in step 0, [0s, 1s)
			time.Sleep(9*time.Second + 499*time.Millisecond)
			if got := b.Status().Calls; got != 1 {
				t.Fatalf("at 9.999s: %d calls, want 1", got)
			}
			time.Sleep(time.Millisecond) // 10s: step 0 leaves, 9.5s after the call
			if got := b.Status().Calls; got != 0 {
				t.Fatalf("at 10s: %d calls, want 0", got)
			}
		})
	})
	t.Run("long idle empties it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, cfg)
			call(t, b, fail)
			time.Sleep(time.Hour)
			call(t, b, fail)
			if st := b.Status(); st.Calls != 1 || st.Failures != 1 {
				t.Fatalf("status %+v: want only the last failure", st)
			}
		})
	})
}

func TestSlowCallsAreCounted(t *testing.T) {
	sleeper := func(d time.Duration) func(context.Context) error {
		return func(context.Context) error { time.Sleep(d); return nil }
	}
	cfg := breaker.Config{Window: &breaker.Window{
		Size:                  4,
		FailureRateThreshold:  1,
		SlowCallDuration:      time.Second,
		SlowCallRateThreshold: 0.5,
	}}
	t.Run("closed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, cfg)
			call(t, b, sleeper(time.Second)) // slow: at least SlowCallDuration
			call(t, b, sleeper(999*time.Millisecond))
			call(t, b, fail)
			if st := b.Status(); st.SlowCalls != 1 || st.Calls != 3 || st.Failures != 1 {
				t.Fatalf("status %+v: want 1 slow call, 1 failure, 3 calls", st)
			}
			call(t, b, sleeper(2*time.Second)) // 2/4 slow
			wantState(t, b, breaker.Open)
		})
	})
	t.Run("a slow trial is a failed one", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, cfg)
			for range 4 {
				call(t, b, sleeper(time.Second))
			}
			wantState(t, b, breaker.Open)
			time.Sleep(time.Minute)
			call(t, b, sleeper(time.Second))
			wantState(t, b, breaker.Open)
		})
	})
	t.Run("Allow times the call", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBreaker(t, cfg)
			permit, err := b.Allow()
			require.NoError(t, err)
			time.Sleep(time.Second)
			permit.Done(nil)
			if got := b.Status().SlowCalls; got != 1 {
				t.Fatalf("SlowCalls = %d, want 1", got)
			}
		})
	})
}

func TestWindowStartsEmptyAfterEveryChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{SuccessThreshold: 1, Window: &breaker.Window{Size: 4, FailureRateThreshold: 0.5}})
		outcomes(t, b, "SSFF")
		wantState(t, b, breaker.Open)
		time.Sleep(time.Minute)
		call(t, b, succeed)
		wantState(t, b, breaker.Closed)
		outcomes(t, b, "FSS")
		if st := b.Status(); st.Calls != 3 || st.Failures != 1 {
			t.Fatalf("status %+v: want only the calls since closing", st)
		}
	})
}
