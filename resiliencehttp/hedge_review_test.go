package resiliencehttp_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aragora/resilience/hedge"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/resiliencehttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A hedge runs the transport's attempts at once: they must share nothing
// unguarded, each must send the whole body, and every response but the one
// returned must be closed, so that no connection stays open.
func TestHedgedAttemptsShareNothingAndLeaveNothingOpen(t *testing.T) {
	for _, tc := range []struct {
		name string
		code int
		body string
	}{
		{"both succeed", http.StatusOK, "ok"},
		{"both fail with bodies too large to drain", http.StatusServiceUnavailable, strings.Repeat("x", 64<<10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests, opened, closed atomic.Int32
			both := make(chan struct{})
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, err := io.ReadAll(r.Body)
				assert.NoError(t, err)
				assert.Equal(t, "payload", string(got), "each attempt sends the whole body")
				if requests.Add(1) == 2 {
					close(both)
				}
				select { // the two attempts answer at the same moment
				case <-both:
				case <-r.Context().Done():
					return
				}
				w.WriteHeader(tc.code)
				io.WriteString(w, tc.body)
			}))
			srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
				switch st {
				case http.StateNew:
					opened.Add(1)
				case http.StateClosed, http.StateHijacked:
					closed.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()

			h, err := hedge.New(hedge.WithDelay(10 * time.Millisecond))
			require.NoError(t, err)
			base := &http.Transport{}
			defer base.CloseIdleConnections()
			tr, err := resiliencehttp.NewTransport(base, pipeline(t, h))
			require.NoError(t, err)

			req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("payload"))
			require.NoError(t, err)
			req.Header.Set(resiliencehttp.IdempotencyKeyHeader, "k1")
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, tc.code, resp.StatusCode)
			assert.Equal(t, tc.body, string(got))
			assert.EqualValues(t, 2, requests.Load(), "the hedge sent a second attempt")

			base.CloseIdleConnections()
			assert.Eventually(t, func() bool { return closed.Load() == opened.Load() }, 5*time.Second, 5*time.Millisecond,
				"a response of a concurrent attempt was left open: %d connections opened, %d closed", opened.Load(), closed.Load())
		})
	}
}

// A hedge in a handler's pipeline starts a second attempt while the handler
// runs: it must find the handler running, without a race, and leave the one
// answer to it.
func TestAHedgeInTheHandlersPipelineRunsTheHandlerOnce(t *testing.T) {
	h, err := hedge.New(hedge.WithDelay(time.Millisecond))
	require.NoError(t, err)
	second := &nthAttempt{n: 2, reached: make(chan struct{})}
	var runs atomic.Int32
	srv, c := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		select { // the hedge's attempt comes while the handler runs
		case <-second.reached:
		case <-r.Context().Done():
		}
		io.WriteString(w, "once")
	}), pipeline(t, h, second))

	code, body := get(t, c, srv.URL)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "once", body)
	assert.EqualValues(t, 1, runs.Load())
}

// nthAttempt is a policy that closes reached when its nth attempt starts.
type nthAttempt struct {
	n       int32
	seen    atomic.Int32
	reached chan struct{}
}

func (p *nthAttempt) Run(ctx context.Context, ex policy.Execution) error {
	if p.seen.Add(1) == p.n {
		close(p.reached)
	}
	return ex.Next(ctx)
}
