package resiliencehttp_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/resiliencehttp"
	"github.com/aragora/resilience/retry"
	"github.com/aragora/resilience/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetried503sReuseOneConnection(t *testing.T) {
	// Each 503 carries a body the client must drain for its connection to
	// go back to the pool.
	srv := newServer(t, failFirst(3, http.StatusServiceUnavailable, strings.Repeat("x", 2000)))
	var fr fastRetry
	c := client(t, pipeline(t, fr.policy(t, 3, time.Second)))

	code, body := get(t, c, srv.URL)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok", body)
	assert.EqualValues(t, 4, srv.requests.Load())
	assert.EqualValues(t, 1, srv.conns.Load(), "new connections across 3 retried 503s")
}

func TestTheLastFailedResponseReachesTheCallerIntact(t *testing.T) {
	for _, size := range []int{10, 64 << 10} { // drained whole; too large to drain
		body := strings.Repeat("d", size)
		srv := newServer(t, failFirst(100, http.StatusBadGateway, body))
		var fr fastRetry
		c := client(t, pipeline(t, fr.policy(t, 2, time.Second)))

		resp, err := c.Get(srv.URL)
		require.NoError(t, err, "a failed last response is a response, not an error")
		got, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
		assert.Equal(t, body, string(got), "size %d", size)
		assert.EqualValues(t, 3, srv.requests.Load())
	}
}

func TestResetMidResponseIsRetried(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if !assert.NoError(t, err) {
				return
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart")
			buf.Flush()
			conn.(*net.TCPConn).SetLinger(0) // a reset, not a clean close
			conn.Close()
			return
		}
		io.WriteString(w, "ok")
	})
	var fr fastRetry
	c := client(t, pipeline(t, fr.policy(t, 2, time.Second)))

	// The header arrived whole: the transport cannot know the body will
	// break, so the caller sees the reset while reading.
	resp, err := c.Get(srv.URL)
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Error(t, err)

	// A reset before the header is a transport error, retried.
	srv2 := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if assert.NoError(t, err) {
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
			return
		}
		io.WriteString(w, "ok")
	})
	code, body := get(t, c, srv2.URL)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok", body)
	assert.EqualValues(t, 2, srv2.requests.Load())
}

func TestSlowHeadersTimeOutTheAttemptAndTheRetrySucceeds(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			<-r.Context().Done() // hangs until the client gives up on it
			return
		}
		io.WriteString(w, "ok")
	})
	var fr fastRetry
	perAttempt, err := timeout.New(50 * time.Millisecond)
	require.NoError(t, err)
	c := client(t, pipeline(t, fr.policy(t, 2, time.Second), perAttempt))

	code, body := get(t, c, srv.URL)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok", body, "the body stays readable after the attempt's time limit is released")
	assert.EqualValues(t, 2, srv.requests.Load())
}

func TestTheBodyOutlivesTheAttemptsTimeLimit(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		io.WriteString(w, "head ")
		http.NewResponseController(w).Flush()
		<-release
		io.WriteString(w, "tail")
	})
	perAttempt, err := timeout.New(50 * time.Millisecond)
	require.NoError(t, err)
	c := client(t, pipeline(t, perAttempt))
	resp, err := c.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	time.AfterFunc(100*time.Millisecond, func() { close(release) }) // past the limit
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "head tail", string(b))
}

// A Retry-After reaches the retry policy through RetryAfter(), and follows
// its rules: a pause within MaxDelay is waited, a longer one ends the retries
// and the caller gets the server's answer.
func TestRetryAfterReachesTheRetryPolicy(t *testing.T) {
	cases := []struct {
		name     string
		code     int
		header   string
		maxDelay time.Duration
		wantCode int
		want     []time.Duration // the retry's delays
	}{
		{"503 seconds", http.StatusServiceUnavailable, "1", 2 * time.Second, http.StatusOK, []time.Duration{time.Second}},
		{"429 seconds", http.StatusTooManyRequests, "1", 2 * time.Second, http.StatusOK, []time.Duration{time.Second}},
		{"503 seconds beyond MaxDelay", http.StatusServiceUnavailable, "1", 40 * time.Millisecond, http.StatusServiceUnavailable, nil},
		{"503 date beyond MaxDelay", http.StatusServiceUnavailable, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), 40 * time.Millisecond, http.StatusServiceUnavailable, nil},
		{"429 seconds beyond MaxDelay", http.StatusTooManyRequests, "1", 40 * time.Millisecond, http.StatusTooManyRequests, nil},
		{"503 zero", http.StatusServiceUnavailable, "0", 40 * time.Millisecond, http.StatusOK, []time.Duration{time.Millisecond}}, // the retry's own delay
		{"503 garbage", http.StatusServiceUnavailable, "soon", 40 * time.Millisecond, http.StatusOK, []time.Duration{time.Millisecond}},
		{"500 ignores it", http.StatusInternalServerError, "1", 40 * time.Millisecond, http.StatusOK, []time.Duration{time.Millisecond}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, failFirst(1, tc.code, "", "Retry-After", tc.header))
			var fr fastRetry
			c := client(t, pipeline(t, fr.policy(t, 1, tc.maxDelay)))
			code, _ := get(t, c, srv.URL)
			assert.Equal(t, tc.wantCode, code)
			assert.Equal(t, tc.want, fr.Delays())
		})
	}
}

func TestIdempotencyRules(t *testing.T) {
	cases := []struct {
		name       string
		method     string
		key        bool
		replay     bool // the body has GetBody
		attempts   int
		notRetried error // for a reset
	}{
		{"GET", http.MethodGet, false, true, 3, nil},
		{"PUT", http.MethodPut, false, true, 3, nil},
		{"DELETE", http.MethodDelete, false, true, 3, nil},
		{"POST", http.MethodPost, false, true, 1, resiliencehttp.ErrNotIdempotent},
		{"PATCH", http.MethodPatch, false, true, 1, resiliencehttp.ErrNotIdempotent},
		{"POST with Idempotency-Key", http.MethodPost, true, true, 3, nil},
		{"POST without GetBody", http.MethodPost, true, false, 1, resiliencehttp.ErrNotReplayable},
		{"PUT without GetBody", http.MethodPut, false, false, 1, resiliencehttp.ErrNotReplayable},
	}
	newReq := func(t *testing.T, method, url string, key, replay bool) *http.Request {
		var body io.Reader = strings.NewReader("payload")
		if !replay {
			body = io.NopCloser(body) // NewRequest cannot replay this one
		}
		req, err := http.NewRequest(method, url, body)
		require.NoError(t, err)
		require.Equal(t, replay, req.GetBody != nil)
		if key {
			req.Header.Set("Idempotency-Key", "k-1")
		}
		return req
	}
	for _, tc := range cases {
		t.Run(tc.name+" 503", func(t *testing.T) {
			var mu sync.Mutex
			var bodies []string
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				bodies = append(bodies, string(b))
				mu.Unlock()
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "busy")
			})
			var fr fastRetry
			c := client(t, pipeline(t, fr.policy(t, 2, time.Second)))
			resp, err := c.Do(newReq(t, tc.method, srv.URL, tc.key, tc.replay))
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			assert.Equal(t, "busy", string(b))
			assert.EqualValues(t, tc.attempts, srv.requests.Load())
			mu.Lock()
			defer mu.Unlock()
			for _, got := range bodies {
				assert.Equal(t, "payload", got, "every attempt sends the whole body")
			}
		})
		t.Run(tc.name+" reset", func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				io.ReadAll(r.Body)
				conn, _, err := http.NewResponseController(w).Hijack()
				if assert.NoError(t, err) {
					conn.(*net.TCPConn).SetLinger(0)
					conn.Close()
				}
			})
			var fr fastRetry
			c := client(t, pipeline(t, fr.policy(t, 2, time.Second)))
			_, err := c.Do(newReq(t, tc.method, srv.URL, tc.key, tc.replay))
			require.Error(t, err)
			assert.EqualValues(t, tc.attempts, srv.requests.Load())
			if tc.notRetried != nil {
				assert.ErrorIs(t, err, tc.notRetried)
				assert.Contains(t, err.Error(), "not retried")
			}
		})
	}
}

func TestAPostIsRetriedWhenItsConnectionCouldNotBeMade(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	// A port nobody listens on: the first dial is refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	l.Close()

	var dials atomic.Int32
	base := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			addr = dead
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(base.CloseIdleConnections)
	var fr fastRetry
	c, err := resiliencehttp.NewClient(&http.Client{Transport: base}, pipeline(t, fr.policy(t, 2, time.Second)))
	require.NoError(t, err)

	resp, err := c.Post(srv.URL, "text/plain", strings.NewReader("once"))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "once", string(b))
	assert.EqualValues(t, 2, dials.Load())
	assert.EqualValues(t, 1, srv.requests.Load())
}

func TestTheAttemptHeaderNumbersEachAttempt(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		mu.Lock()
		seen = append(seen, r.Header.Get("X-Retry-Attempt"))
		mu.Unlock()
		failFirst(2, http.StatusServiceUnavailable, "")(w, r, n)
	})
	var fr fastRetry
	c := client(t, pipeline(t, fr.policy(t, 3, time.Second)), resiliencehttp.WithAttemptHeader("x-retry-attempt"))
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/plain")
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	mu.Lock()
	assert.Equal(t, []string{"1", "2", "3"}, seen)
	mu.Unlock()
	assert.Equal(t, http.Header{"Accept": {"text/plain"}}, req.Header, "the caller's request is not modified")
}

func TestARejectionIsAnErrorMatchingItsSentinel(t *testing.T) {
	srv := newServer(t, failFirst(100, http.StatusServiceUnavailable, "down"))
	br, err := breaker.New("upstream", breaker.Config{FailureThreshold: 1, Classifier: resiliencehttp.BreakerClassifier})
	require.NoError(t, err)
	var fr fastRetry
	c := client(t, pipeline(t, fr.policy(t, 3, time.Second), br))

	// The first 503 opens the breaker, which refuses the retry: the caller
	// gets the rejection, and the parked 503 is closed.
	resp, err := c.Get(srv.URL)
	assert.Nil(t, resp)
	assert.ErrorIs(t, err, breaker.ErrOpen)
	assert.ErrorIs(t, err, policy.ErrRejected)
	assert.EqualValues(t, 1, srv.requests.Load())

	resp, err = c.Get(srv.URL)
	assert.Nil(t, resp)
	assert.ErrorIs(t, err, breaker.ErrOpen)
	assert.EqualValues(t, 1, srv.requests.Load())
}

func TestBreakerClassifierCountsByVerdict(t *testing.T) {
	for code, want := range map[int]breaker.Verdict{
		http.StatusServiceUnavailable: breaker.Failure,
		http.StatusTooManyRequests:    breaker.Failure,
		http.StatusNotImplemented:     breaker.Failure,
		http.StatusRequestTimeout:     breaker.Success,
		http.StatusNotFound:           breaker.Success,
	} {
		v := resiliencehttp.DefaultClassifier(&http.Response{StatusCode: code}, nil)
		got := resiliencehttp.BreakerClassifier(&resiliencehttp.StatusError{StatusCode: code, Verdict: v})
		assert.Equal(t, want, got, "%d", code)
	}
	assert.Equal(t, breaker.Failure, resiliencehttp.BreakerClassifier(io.ErrUnexpectedEOF))
	assert.Equal(t, breaker.Ignore, resiliencehttp.BreakerClassifier(context.Canceled))
}

func TestDefaultClassifier(t *testing.T) {
	for code, want := range map[int]resiliencehttp.Verdict{
		200: {}, 201: {}, 304: {}, 400: {}, 404: {}, 409: {},
		408: {Retry: true},
		429: {Retry: true, Failure: true}, 500: {Retry: true, Failure: true}, 502: {Retry: true, Failure: true},
		503: {Retry: true, Failure: true}, 504: {Retry: true, Failure: true},
		501: {Failure: true}, 505: {Failure: true}, 599: {Failure: true},
	} {
		assert.Equal(t, want, resiliencehttp.DefaultClassifier(&http.Response{StatusCode: code}, nil), "%d", code)
	}
	assert.Equal(t, resiliencehttp.Verdict{Retry: true, Failure: true}, resiliencehttp.DefaultClassifier(nil, io.ErrUnexpectedEOF))
	assert.Equal(t, resiliencehttp.Verdict{}, resiliencehttp.DefaultClassifier(nil, context.Canceled))
}

func TestACustomClassifierDecides(t *testing.T) {
	srv := newServer(t, failFirst(1, http.StatusConflict, "busy"))
	var fr fastRetry
	c := client(t, pipeline(t, fr.policy(t, 2, time.Second)), resiliencehttp.WithClassifier(
		func(resp *http.Response, err error) resiliencehttp.Verdict {
			if resp != nil && resp.StatusCode == http.StatusConflict {
				return resiliencehttp.Verdict{Retry: true}
			}
			return resiliencehttp.DefaultClassifier(resp, err)
		}))
	code, _ := get(t, c, srv.URL)
	assert.Equal(t, http.StatusOK, code)
	assert.EqualValues(t, 2, srv.requests.Load())
}

func TestAPanickingClassifierIsReRaisedAndLeavesNothingOpen(t *testing.T) {
	srv := newServer(t, failFirst(0, 0, ""))
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	var fr fastRetry
	tr, err := resiliencehttp.NewTransport(base, pipeline(t, fr.policy(t, 2, time.Second)), resiliencehttp.WithClassifier(
		func(*http.Response, error) resiliencehttp.Verdict { panic("classifier bug") }))
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	assert.PanicsWithValue(t, "classifier bug", func() { tr.RoundTrip(req) })
	assert.EqualValues(t, 1, srv.requests.Load(), "a panic is never retried")
}

func TestAClientCancellingMidRetryGetsItsCancellation(t *testing.T) {
	srv := newServer(t, failFirst(100, http.StatusServiceUnavailable, "busy", "Retry-After", "30"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The retry is scheduled, with the server's 30s, when the caller gives up.
	r, err := retry.New(retry.Config{MaxDelay: time.Minute}, retry.WithOnRetry(func(_ string, _ int, d time.Duration) {
		assert.Equal(t, 30*time.Second, d)
		cancel()
	}))
	require.NoError(t, err)
	c := client(t, pipeline(t, r))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	start := time.Now()
	resp, err := c.Do(req)
	assert.Nil(t, resp, "the parked 503 is closed, not returned")
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 10*time.Second, "the wait of 30s ended with the context")
	assert.EqualValues(t, 1, srv.requests.Load())
}

func TestBadConfigurationIsAnErrorAtConstruction(t *testing.T) {
	p := pipeline(t)
	_, err := resiliencehttp.NewTransport(nil, nil)
	assert.ErrorIs(t, err, resiliencehttp.ErrNilPipeline)
	_, err = resiliencehttp.NewClient(nil, nil)
	assert.ErrorIs(t, err, resiliencehttp.ErrNilPipeline)
	for _, name := range []string{"", "X Retry", "X-Retry:", "Ü"} {
		_, err = resiliencehttp.NewTransport(nil, p, resiliencehttp.WithAttemptHeader(name))
		assert.ErrorIs(t, err, resiliencehttp.ErrInvalidOption, "%q", name)
	}
	_, err = resiliencehttp.Handler(http.NotFoundHandler(), p, resiliencehttp.WithRetryAfter(0))
	assert.ErrorIs(t, err, resiliencehttp.ErrInvalidOption)
	_, err = resiliencehttp.Handler(nil, p)
	assert.Error(t, err)
	_, err = resiliencehttp.Handler(http.NotFoundHandler(), nil)
	assert.ErrorIs(t, err, resiliencehttp.ErrNilPipeline)
	tr, err := resiliencehttp.NewTransport(nil, p, nil, resiliencehttp.WithClassifier(nil), resiliencehttp.WithIdempotent(nil))
	require.NoError(t, err)
	assert.NotNil(t, tr)
}

func TestAnUnsentBodyIsClosed(t *testing.T) {
	br, err := breaker.New("b", breaker.Config{})
	require.NoError(t, err)
	br.ForceOpen()
	tr, err := resiliencehttp.NewTransport(nil, pipeline(t, br))
	require.NoError(t, err)
	body := &closeCounter{Reader: strings.NewReader("x")}
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", body)
	require.NoError(t, err)
	_, err = tr.RoundTrip(req)
	assert.ErrorIs(t, err, breaker.ErrOpen)
	assert.Equal(t, 1, body.closed)
}

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

var _ = bufio.NewReader
var _ = errors.New
