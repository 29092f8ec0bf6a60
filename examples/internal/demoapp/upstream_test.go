package demoapp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/examples/internal/demoapp"
	"github.com/aragora/resilience/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func outcomes(u *demoapp.Upstream, n int) []bool {
	var ok []bool
	for range n {
		_, err := u.Call(context.Background())
		ok = append(ok, err == nil)
	}
	return ok
}

func TestUpstream(t *testing.T) {
	t.Run("zero config always answers", func(t *testing.T) {
		u := demoapp.NewUpstream(demoapp.UpstreamConfig{})
		for i, ok := range outcomes(u, 20) {
			if !ok {
				t.Fatalf("call %d failed", i+1)
			}
		}
		if u.Calls() != 20 {
			t.Errorf("Calls = %d, want 20", u.Calls())
		}
	})
	t.Run("FailNext fails exactly the next calls", func(t *testing.T) {
		u := demoapp.NewUpstream(demoapp.UpstreamConfig{})
		u.FailNext(2)
		got := outcomes(u, 4)
		if want := []bool{false, false, true, true}; !slices.Equal(got, want) {
			t.Errorf("outcomes %v, want %v", got, want)
		}
	})
	t.Run("an outage fails every call until it ends", func(t *testing.T) {
		u := demoapp.NewUpstream(demoapp.UpstreamConfig{})
		u.SetDown(true)
		if !u.Down() || !slices.Equal(outcomes(u, 3), []bool{false, false, false}) {
			t.Error("calls during an outage succeeded")
		}
		u.SetDown(false)
		if u.Down() || !slices.Equal(outcomes(u, 1), []bool{true}) {
			t.Error("the outage did not end")
		}
	})
	t.Run("a seed replays the same failures", func(t *testing.T) {
		cfg := demoapp.UpstreamConfig{FailureRate: 0.5, RandomSeed: 42}
		a, b := outcomes(demoapp.NewUpstream(cfg), 50), outcomes(demoapp.NewUpstream(cfg), 50)
		if !slices.Equal(a, b) {
			t.Error("two upstreams with one seed failed differently")
		}
		failures := 0
		for _, ok := range a {
			if !ok {
				failures++
			}
		}
		if failures < 10 || failures > 40 {
			t.Errorf("%d failures in 50 calls at a rate of 0.5", failures)
		}
	})
}

func TestUpstreamErrorIsTyped(t *testing.T) {
	u := demoapp.NewUpstream(demoapp.UpstreamConfig{})
	u.FailNext(1)
	_, err := u.Call(context.Background())
	var se *demoapp.StatusError
	if !errors.Is(err, demoapp.ErrUnavailable) || !errors.As(err, &se) || se.Code != 503 {
		t.Fatalf("error %v, want ErrUnavailable, a *StatusError of 503", err)
	}
	if got := policy.ErrorType(err); got != "503" {
		t.Errorf("error.type = %q, want 503", got)
	}
}

func TestUpstreamLatencyHonoursTheContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := demoapp.NewUpstream(demoapp.UpstreamConfig{SlowRate: 1, SlowLatency: time.Second})
		start := time.Now()
		if _, err := u.Call(context.Background()); err != nil || time.Since(start) != time.Second {
			t.Errorf("slow call: %v after %v, want success after 1s", err, time.Since(start))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start = time.Now()
		if _, err := u.Call(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 100*time.Millisecond {
			t.Errorf("cut call: %v after %v, want the deadline after 100ms", err, time.Since(start))
		}
	})
}

func TestUpstreamSlowNextSlowsExactlyTheNextCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := demoapp.NewUpstream(demoapp.UpstreamConfig{SlowLatency: time.Second})
		u.SlowNext(1)
		for i, want := range []time.Duration{time.Second, 0} {
			start := time.Now()
			_, err := u.Call(context.Background())
			require.NoError(t, err)
			assert.Equal(t, want, time.Since(start), "call %d", i+1)
		}
	})
}

// Over HTTP, the upstream answers 200 with its answer and 503 when it fails,
// and a status error matches the sentinel of its code.
func TestUpstreamServesHTTP(t *testing.T) {
	u := demoapp.NewUpstream(demoapp.UpstreamConfig{})
	get := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		u.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		return rec
	}
	r := get()
	assert.Equal(t, http.StatusOK, r.Code)
	assert.Equal(t, "answer #1", r.Body.String())
	u.FailNext(1)
	r = get()
	assert.Equal(t, http.StatusServiceUnavailable, r.Code)
	assert.Contains(t, r.Body.String(), "503 Service Unavailable")

	assert.ErrorIs(t, &demoapp.StatusError{Code: 503}, demoapp.ErrUnavailable)
	assert.NotErrorIs(t, &demoapp.StatusError{Code: 500}, demoapp.ErrUnavailable)
}

// A request whose client went away gets no answer.
func TestUpstreamServesNothingToACancelledRequest(t *testing.T) {
	u := demoapp.NewUpstream(demoapp.UpstreamConfig{SlowRate: 1, SlowLatency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	u.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	assert.Empty(t, rec.Body.String())
	assert.False(t, rec.Flushed)
}
