package resiliencehttp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/ratelimit"
	"github.com/aragora/resilience/resiliencehttp"
	"github.com/aragora/resilience/slo"
	"github.com/aragora/resilience/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve starts a real server on 127.0.0.1 for h under p.
func serve(t *testing.T, h http.Handler, p *policy.Pipeline, opts ...resiliencehttp.Option) (*httptest.Server, *http.Client) {
	t.Helper()
	rh, err := resiliencehttp.Handler(h, p, opts...)
	require.NoError(t, err)
	srv := httptest.NewServer(rh)
	t.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 100}
	t.Cleanup(tr.CloseIdleConnections)
	return srv, &http.Client{Transport: tr}
}

func TestLoadSheddingAtTwiceTheBulkheadsLimit(t *testing.T) {
	const limit = 8
	bh, err := bulkhead.New("api", bulkhead.Config{MaxConcurrent: limit})
	require.NoError(t, err)
	inside := make(chan struct{}, limit)
	release := make(chan struct{})
	var mu sync.Mutex
	served := map[string]int{}
	srv, c := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		served[r.URL.Query().Get("id")]++
		mu.Unlock()
		inside <- struct{}{}
		<-release
		io.WriteString(w, r.URL.Query().Get("id"))
	}), pipeline(t, bh))

	type answer struct {
		id, body, retryAfter string
		code                 int
		err                  error
	}
	answers := make(chan answer, 2*limit)
	var wg sync.WaitGroup
	for i := range 2 * limit {
		wg.Go(func() {
			id := strconv.Itoa(i)
			resp, err := c.Get(srv.URL + "/?id=" + id)
			if err != nil {
				answers <- answer{id: id, err: err}
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			answers <- answer{id: id, body: string(b), code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), err: err}
		})
	}
	// The first limit requests hold every permit; the others are shed.
	for range limit {
		<-inside
	}
	var shed []answer
	for range limit {
		a := <-answers
		require.NoError(t, a.err)
		shed = append(shed, a)
	}
	close(release)
	wg.Wait()
	close(answers)

	ids := map[string]int{}
	for _, a := range shed {
		assert.Equal(t, http.StatusServiceUnavailable, a.code)
		assert.Equal(t, "1", a.retryAfter, "a full bulkhead says nothing: the default Retry-After")
		ids[a.id]++
	}
	for a := range answers {
		require.NoError(t, a.err)
		assert.Equal(t, http.StatusOK, a.code)
		assert.Equal(t, a.id, a.body)
		ids[a.id]++
	}
	assert.Len(t, ids, 2*limit, "every request got an answer")
	for id, n := range ids {
		assert.Equal(t, 1, n, "request %s answered once", id)
	}
	assert.Len(t, served, limit)
	for id, n := range served {
		assert.Equal(t, 1, n, "request %s served once", id)
		assert.Equal(t, 1, ids[id])
	}
}

// limited is a policy that rejects every call as a rate limiter does.
type limited struct{ wait time.Duration }

func (l limited) Run(context.Context, policy.Execution) error {
	return ratelimit.NewRejectedError("limited", 0, l.wait)
}

func TestARateLimitRejectionIs429WithItsRetryAfter(t *testing.T) {
	srv, c := serve(t, http.NotFoundHandler(), pipeline(t, limited{wait: 2500 * time.Millisecond}))
	resp, err := c.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "3", resp.Header.Get("Retry-After"), "rounded up to whole seconds")
}

func TestATimeoutAnswers503AndCancelsTheHandler(t *testing.T) {
	limit, err := timeout.New(50 * time.Millisecond)
	require.NoError(t, err)
	seen := make(chan error, 2)
	srv, c := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		seen <- context.Cause(r.Context())
		_, err := io.WriteString(w, "too late")
		seen <- err
	}), pipeline(t, limit))

	resp, err := c.Get(srv.URL)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.NotContains(t, string(b), "too late")
	assert.ErrorIs(t, <-seen, timeout.ErrTimeout, "the handler's context was cancelled by the time limit")
	assert.ErrorIs(t, <-seen, http.ErrHandlerTimeout)
}

func TestAPanicIsRecordedAndReRaised(t *testing.T) {
	m, err := slo.New("api", slo.Objective{Availability: 0.99})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	rh, err := resiliencehttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		panic("handler bug")
	}), pipeline(t), resiliencehttp.WithMonitor(m))
	require.NoError(t, err)
	var logs bytes.Buffer
	var logMu sync.Mutex
	srv := httptest.NewUnstartedServer(rh)
	srv.Config.ErrorLog = log.New(writerFunc(func(b []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(b)
	}), "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr}

	_, err = c.Get(srv.URL + "/bug")
	assert.Error(t, err, "net/http closes the connection of a panicking handler")
	_, err = c.Get(srv.URL + "/abort")
	assert.Error(t, err)
	srv.Close()

	logMu.Lock()
	assert.Contains(t, logs.String(), "handler bug", "net/http logs the panic with its own value")
	assert.NotContains(t, logs.String(), "abort", "http.ErrAbortHandler reaches net/http as itself, which does not log it")
	logMu.Unlock()
	win := m.Snapshot().Availability.Windows[0]
	assert.Equal(t, 2.0, win.Calls)
	assert.Equal(t, 2.0, win.Bad)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func TestTheMonitorRecordsEachRequestsOutcome(t *testing.T) {
	m, err := slo.New("api", slo.Objective{Availability: 0.99})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	bh, err := bulkhead.New("api", bulkhead.Config{MaxConcurrent: 1})
	require.NoError(t, err)
	hold := make(chan struct{})
	held := make(chan struct{})
	srv, c := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hold":
			close(held)
			<-hold
		case "/404":
			http.NotFound(w, r)
		case "/500":
			http.Error(w, "broken", http.StatusInternalServerError)
		case "/503":
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}), pipeline(t, bh), resiliencehttp.WithMonitor(m))

	status := func(path string) int {
		resp, err := c.Get(srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, 200, status("/ok"))
	assert.Equal(t, 404, status("/404"))
	assert.Equal(t, 500, status("/500"))
	assert.Equal(t, 503, status("/503"))
	done := make(chan int)
	go func() { done <- status("/hold") }()
	<-held
	assert.Equal(t, 503, status("/rejected"))
	close(hold)
	assert.Equal(t, 200, <-done)

	win := m.Snapshot().Availability.Windows[0]
	assert.Equal(t, 6.0, win.Calls)
	assert.Equal(t, 3.0, win.Bad, "500, 503 and the rejection; 404 is the client's fault")
}

func TestTheMonitorsLatencyRunsFromEntry(t *testing.T) {
	m, err := slo.New("api", slo.Objective{Availability: 0.99, Latency: 30 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	bh, err := bulkhead.New("api", bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1})
	require.NoError(t, err)
	entered := make(chan struct{}, 2)
	release := make(chan struct{})
	srv, c := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		if r.URL.Path == "/first" {
			<-release
		}
	}), pipeline(t, bh), resiliencehttp.WithMonitor(m))
	var wg sync.WaitGroup
	for _, path := range []string{"/first", "/queued"} {
		wg.Go(func() {
			resp, err := c.Get(srv.URL + path)
			if assert.NoError(t, err) {
				resp.Body.Close()
			}
		})
		if path == "/first" {
			<-entered
		}
	}
	// The second request waits in the bulkhead's queue; its handler is
	// quick, but its latency, from entry, includes the wait.
	time.AfterFunc(60*time.Millisecond, func() { close(release) })
	wg.Wait()
	lat := m.Snapshot().Latency.Windows[0]
	assert.Equal(t, 2.0, lat.Calls)
	assert.Equal(t, 2.0, lat.Bad, "both requests took longer than 30ms from entry")
}

func TestAHandlerErrorWithoutAnswerIs500(t *testing.T) {
	failing := policyFunc(func(ctx context.Context, ex policy.Execution) error {
		if err := ex.Next(ctx); err != nil {
			return err
		}
		return errors.New("after the handler")
	})
	srv, c := serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), pipeline(t, failing))
	resp, err := c.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
}

type policyFunc func(ctx context.Context, ex policy.Execution) error

func (f policyFunc) Run(ctx context.Context, ex policy.Execution) error { return f(ctx, ex) }

func TestAHandlerRunsOnceEvenUnderARetry(t *testing.T) {
	var runs atomic.Int32
	twice := policyFunc(func(ctx context.Context, ex policy.Execution) error {
		ex.Next(ctx)
		return ex.Next(ctx)
	})
	srv, c := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, runs.Add(1))
	}), pipeline(t, twice))
	resp, err := c.Get(srv.URL)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "1", string(b))
	assert.EqualValues(t, 1, runs.Load())
}

func TestAWrappedHandlerCanStillFlushAndHijack(t *testing.T) {
	srv, c := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hijack" {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if !assert.NoError(t, err) {
				return
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
			buf.Flush()
			conn.Close()
			return
		}
		io.WriteString(w, "first ")
		require.NoError(t, http.NewResponseController(w).Flush())
		w.(http.Flusher).Flush()
		io.WriteString(w, "second")
	}), pipeline(t))
	for path, want := range map[string]string{"/flush": "first second", "/hijack": "hijacked"} {
		resp, err := c.Get(srv.URL + path)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, want, string(b))
	}
}
