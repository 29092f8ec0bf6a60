package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is a bytes.Buffer that the demo's goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// With no backend the demo serves, calls itself, goes through an outage, and
// prints what happened as a few summary lines, and no span; it stops cleanly
// when its time is up.
func TestDemoPrintsADashboardByDefault(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	var out syncBuffer
	err := run(context.Background(), []string{
		"-addr", "127.0.0.1:0", "-duration", "2s", "-every", "20ms", "-report", "500ms",
		"-outage-first", "300ms", "-outage-every", "10s", "-outage-for", "1s",
	}, &out)
	got := out.String()
	require.NoError(t, err, got)
	for _, want := range []string{
		`(?m)^  metrics     http://127\.0\.0\.1:\d+/metrics`,
		`(?m)^  health      http://127\.0\.0\.1:\d+/health`,
		`(?m)^ +\d+\.\ds  calls +\d+  ok +\d+  fallback +\d+  failed +\d+  retries +\d+  hedges +\d+  rejected: breaker +\d+ bulkhead +\d+  timeouts +\d+ \| breaker \S+ +\| slo burn\(\w+\) +[\d.]+  alert \w+$`,
		`(?m)^ +\d+\.\ds  the upstream is down for 1s`,
		`(?m)^ +\d+\.\ds  breaker upstream: closed → open$`,
		// While the breaker is open, calls are answered from the cache.
		`(?m)^ +\d+\.\ds  calls +\d+  ok +\d+  fallback +[1-9]\d*`,
		`(?m)^demo: stopping$`,
	} {
		assert.Regexp(t, want, got)
	}
	assert.NotContains(t, got, `span "`, "spans are printed only when asked")
	assert.Less(t, strings.Count(got, "\n"), 25, "a 2s run prints a few lines:\n%s", got)
}

// With -traces stdout the demo prints each span on one line.
func TestDemoPrintsSpansWhenAsked(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	var out syncBuffer
	err := run(context.Background(), []string{
		"-addr", "127.0.0.1:0", "-duration", "1500ms", "-every", "20ms", "-traces", "stdout",
		"-outage-first", "300ms", "-outage-every", "10s", "-outage-for", "1s",
	}, &out)
	got := out.String()
	require.NoError(t, err, got)
	for _, want := range []string{
		`(?m)^span "upstream execute" trace=\w{32} span=\w{16} parent=\w{16} `,
		`(?m)^span "upstream attempt" .*resilience\.attempt=1`,
		`(?m)^span "HTTP GET" trace=\w{32} span=\w{16} parent=\w{16} `,
		`(?m)^span "upstream-fallback execute" trace=\w{32}`,
		`(?m)^span "GET /" trace=\w{32}`,
		`retry\{.*resilience\.attempt=2`,
		`breaker\.rejected\{`,
		`fallback\{`,
	} {
		assert.Regexp(t, want, got)
	}
}

func TestDemoWritesSpansToAFile(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	file := filepath.Join(t.TempDir(), "spans.log")
	var out syncBuffer
	if err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-duration", "300ms", "-every", "20ms", "-traces", file}, &out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `span "upstream execute"`) || strings.Contains(out.String(), `span "`) {
		t.Errorf("spans not in the file alone:\nfile:\n%s\nstdout:\n%s", data, out.String())
	}
}

func TestDemoRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-every", "-1s"},
		{"-report", "0s"},
		{"-outage-first", "-1s"},
		{"-nonsense"},
		{"extra"},
		{"-addr", "256.0.0.1:0", "-duration", "1s"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var out syncBuffer
			if err := run(ctx, args, &out); err == nil {
				t.Errorf("run(%q) succeeded", args)
			}
		})
	}
}
