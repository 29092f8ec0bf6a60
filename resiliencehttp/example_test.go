package resiliencehttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/resiliencehttp"
	"github.com/aragora/resilience/retry"
)

// A client that retries a 503: the caller sees only the final answer.
func ExampleNewClient() {
	var calls atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "charged")
	}))
	defer upstream.Close()

	r, _ := retry.New(retry.Config{BaseDelay: time.Millisecond})
	p := policy.MustNew("payments", r)
	client, err := resiliencehttp.NewClient(&http.Client{Timeout: 5 * time.Second}, p,
		resiliencehttp.WithAttemptHeader("X-Retry-Attempt"))
	if err != nil {
		panic(err)
	}
	defer client.CloseIdleConnections()

	resp, err := client.Get(upstream.URL)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body), "after", calls.Load(), "attempts")
	// Output: 200 charged after 3 attempts
}

// A handler that sheds what its bulkhead cannot hold.
func ExampleHandler() {
	bh, _ := bulkhead.New("api", bulkhead.Config{MaxConcurrent: 1})
	hold, release := make(chan struct{}), make(chan struct{})
	h, err := resiliencehttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(hold)
		<-release
	}), policy.MustNew("api", bh))
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}

	done := make(chan struct{})
	go func() {
		resp, err := c.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		close(done)
	}()
	<-hold // the one permit is taken
	resp, err := c.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, "Retry-After:", resp.Header.Get("Retry-After"))
	close(release)
	<-done
	// Output: 503 Retry-After: 1
}
