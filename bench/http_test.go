package bench_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/resiliencehttp"
	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
	fscircuitbreaker "github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/failsafehttp"
)

// The HTTP work is one GET round trip on loopback: an httptest server on
// 127.0.0.1 answers 200 with a two-byte body, which the client reads to the
// end and closes, through an http.Client whose transport keeps enough idle
// connections for every goroutine, so that no round trip dials. Each
// contender has its own transport, and so its own connections.

// okHandler answers every request 200 with a small body.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	_, _ = io.WriteString(w, "ok")
})

// newServer starts an httptest server of h on 127.0.0.1, closed when the
// benchmark ends.
func newServer(b *testing.B, h http.Handler) string {
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL
}

// bareTransport is the transport every contender sends through, itself or
// under its policies; its idle connections are closed when the run ends.
func bareTransport(b *testing.B) *http.Transport {
	t := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(t.CloseIdleConnections)
	return t
}

// get returns the work: a GET of url through rt whose body is read and
// closed, failing unless the answer is 200 "ok".
func get(rt http.RoundTripper, url string) func(context.Context) error {
	c := &http.Client{Transport: rt}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		if cerr := resp.Body.Close(); err == nil {
			err = cerr
		}
		if err == nil && (resp.StatusCode != http.StatusOK || string(body) != "ok") {
			err = fmt.Errorf("bench: got %d %q, want 200 \"ok\"", resp.StatusCode, body)
		}
		return err
	}
}

// newHTTPBreaker is newBreaker counting failed responses as the transport
// classifies them: 5xx and 429 are failures.
func newHTTPBreaker(b *testing.B) *breaker.Breaker {
	return must(breaker.New("bench", breaker.Config{Cooldown: time.Hour, Classifier: resiliencehttp.BreakerClassifier}))
}

// BenchmarkHTTPTransport: a loopback GET round trip through a client
// transport with a retry (3 attempts, 1µs apart) and a breaker (5
// consecutive failures), which the server never fails.
func BenchmarkHTTPTransport(b *testing.B) {
	url := newServer(b, okHandler)
	compare(b,
		// The round trip through a bare http.Transport.
		simple("floor-bare-transport", func(b *testing.B) func(context.Context) error {
			return get(bareTransport(b), url)
		}),
		// resiliencehttp.NewTransport around the same transport, its pipeline
		// a retry and a breaker, telemetry off: each request is executed by
		// the pipeline, its one attempt classified by status (5xx and 429
		// failures, for the breaker too), its response returned as is.
		simple("resilience", func(b *testing.B) func(context.Context) error {
			p := off(b, newRetry(b), newHTTPBreaker(b))
			return get(must(resiliencehttp.NewTransport(bareTransport(b), p)), url)
		}),
		// failsafehttp.NewRoundTripper around the same transport, with
		// failsafehttp's retry policy (429 and 5xx but 501 retried; as ours:
		// 3 attempts, 1µs apart, the last failure returned) and a breaker
		// counting errors, 5xx and 429 as failures: each request is executed
		// by the policies, its body wrapped to cancel its contexts on Close.
		simple("failsafe-go", func(b *testing.B) func(context.Context) error {
			retry := failsafehttp.NewRetryPolicyBuilder().WithMaxRetries(2).WithDelay(retryDelay).
				ReturnLastFailure().Build()
			cb := fscircuitbreaker.NewBuilder[*http.Response]().
				HandleIf(func(resp *http.Response, err error) bool {
					return err != nil || resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
				}).
				WithFailureThreshold(5).WithDelay(time.Hour).Build()
			return get(failsafehttp.NewRoundTripper(bareTransport(b), retry, cb), url)
		}),
	)
}

// BenchmarkHTTPHandler: a loopback GET round trip, through a bare
// http.Transport, to a server whose handler holds a permit of a bulkhead
// (1024 at once, always one free) while it answers.
func BenchmarkHTTPHandler(b *testing.B) {
	// The same handler without a bulkhead.
	bare := newServer(b, okHandler)
	// resiliencehttp.Handler, its pipeline a bulkhead, telemetry off: the
	// pipeline executes the handler through a writer that keeps its status,
	// and a full bulkhead would be answered 503 with a Retry-After.
	ours := newServer(b, must(resiliencehttp.Handler(okHandler, off(b, newBulkhead(b)))))
	// failsafehttp.NewHandler with a bulkhead of its own: the policies
	// execute the handler with a context merged from the request's and the
	// execution's, and a full bulkhead would be answered 429.
	peer := newServer(b, failsafehttp.NewHandler(okHandler, fsbulkhead.New[*http.Response](permits)))
	to := func(url string) func(b *testing.B) func(context.Context) error {
		return func(b *testing.B) func(context.Context) error { return get(bareTransport(b), url) }
	}
	compare(b,
		simple("floor-bare-handler", to(bare)),
		simple("resilience", to(ours)),
		simple("failsafe-go", to(peer)),
	)
}
