//go:build e2e

package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/resilience/examples/internal/demoapp"
	"github.com/aragora/resilience/otelhooks"
)

// TestDemoTrace serves the demo on its default pipeline, as make demo does,
// and reads back from Jaeger the trace of one GET / whose first attempt is
// slow and fails, whose hedged attempt fails too, and whose retry succeeds:
// the trace a reader finds in Jaeger, and the one the README's waterfall
// shows. Twenty-five good calls first teach the adaptive hedge its delay.
func TestDemoTrace(t *testing.T) {
	requireBackends(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlpEndpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	shutdown, err := otelhooks.Setup(context.Background(), otelhooks.WithServiceName(demoapp.ServiceName))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, shutdown(context.Background())) })
	up := demoapp.NewUpstream(demoapp.UpstreamConfig{Latency: 5 * time.Millisecond, SlowLatency: 150 * time.Millisecond})
	svc, err := demoapp.New(demoapp.DefaultConfig(), up, nil)
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	mux := http.NewServeMux()
	svc.Register(mux)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	c := &http.Client{Timeout: 5 * time.Second}
	t.Cleanup(c.CloseIdleConnections)
	get := func() string {
		resp, err := c.Get("http://" + lis.Addr().String() + "/")
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
		m := regexp.MustCompile(`\(trace ([0-9a-f]{32})\)`).FindSubmatch(b)
		require.NotNil(t, m, "the answer names its trace: %s", b)
		return string(m[1])
	}
	for range 25 {
		get()
	}
	// The first attempt: slow, then failing; its hedge fails fast; the
	// retry's attempt succeeds.
	up.SlowNext(1)
	up.FailNext(2)
	traceID := get()

	// A busy machine may hedge the retry's attempt too, so the attempts are
	// counted, not fixed: at least the three above, each with its one HTTP
	// GET client span. The trace is read again until every attempt's GET has
	// reached Jaeger.
	var tr jaegerTrace
	names := map[string]int{}
	eventually(t, 20*time.Second, "Jaeger has trace "+traceID, func(ctx context.Context) (err error) {
		tr, err = getTrace(ctx, traceID, 10) // GET /, the fallback's two spans, execute, 3 attempts, 3 HTTP GETs
		if err != nil {
			return err
		}
		clear(names)
		for _, s := range tr.Spans {
			names[s.OperationName]++
		}
		if names["HTTP GET"] != names["upstream attempt"] {
			return fmt.Errorf("%d attempts but %d HTTP GET spans so far", names["upstream attempt"], names["HTTP GET"])
		}
		return nil
	})
	events := map[string]int{}
	for _, s := range tr.Spans {
		for _, e := range s.events() {
			events[e["event"].(string)]++
		}
	}
	attempts := names["upstream attempt"]
	assert.GreaterOrEqual(t, attempts, 3, "the slow attempt, its hedge and the retry's attempt: %v", names)
	assert.Equal(t, map[string]int{"GET /": 1, "upstream-fallback execute": 1, "upstream-fallback attempt": 1,
		"upstream execute": 1, "upstream attempt": attempts, "HTTP GET": attempts}, names, "the trace's spans")
	assert.Positive(t, events["hedge"], "a hedge event: %v", events)
	assert.Positive(t, events["retry"], "a retry event: %v", events)
	savePictureTrace(t, tr)
}
