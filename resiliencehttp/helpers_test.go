package resiliencehttp_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/resiliencehttp"
	"github.com/aragora/resilience/retry"
	"github.com/stretchr/testify/require"
)

// server is a real net/http server on 127.0.0.1 that counts the requests it
// gets and the connections clients open to it.
type server struct {
	*httptest.Server
	requests atomic.Int32
	conns    atomic.Int32
}

// newServer starts a server whose handler gets each request's 1-based number.
func newServer(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int)) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r, int(s.requests.Add(1)))
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// failFirst answers code, with body, to the first n requests and 200 "ok"
// to the others.
func failFirst(n, code int, body string, header ...string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, i int) {
		if i <= n {
			for j := 0; j+1 < len(header); j += 2 {
				w.Header().Set(header[j], header[j+1])
			}
			w.WriteHeader(code)
			io.WriteString(w, body)
			return
		}
		io.WriteString(w, "ok")
	}
}

// fastRetry retries up to max times, 1ms apart, and records each delay.
type fastRetry struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (f *fastRetry) policy(t *testing.T, max int, maxDelay time.Duration) *retry.Retry {
	t.Helper()
	r, err := retry.New(retry.Config{
		MaxRetries: max, BaseDelay: time.Millisecond, MaxDelay: maxDelay,
		Strategy: retry.Constant, Jitter: retry.NoJitter,
	}, retry.WithOnRetry(func(_ string, _ int, d time.Duration) {
		f.mu.Lock()
		f.delays = append(f.delays, d)
		f.mu.Unlock()
	}))
	require.NoError(t, err)
	return r
}

func (f *fastRetry) Delays() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.delays...)
}

// client returns an http.Client sending through a fresh http.Transport
// under p, closed with the test.
func client(t *testing.T, p *policy.Pipeline, opts ...resiliencehttp.Option) *http.Client {
	t.Helper()
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	c, err := resiliencehttp.NewClient(&http.Client{Transport: base}, p, opts...)
	require.NoError(t, err)
	return c
}

// get sends a GET to url and returns the status and body.
func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func pipeline(t *testing.T, policies ...policy.Policy) *policy.Pipeline {
	t.Helper()
	p, err := policy.New("api", policies...)
	require.NoError(t, err)
	return p
}

var _ = context.Background
