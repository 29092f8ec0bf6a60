package health_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aragora/resilience/health"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

const benchChecks = 4

var benchFns = func() []func(context.Context) error {
	fns := make([]func(context.Context) error, benchChecks)
	for i := range fns {
		fns[i] = pass
	}
	return fns
}()

// BenchmarkFloorDirect calls the check functions one after the other: what
// checking costs with no concurrency, no timeout and no bookkeeping.
func BenchmarkFloorDirect(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for _, fn := range benchFns {
			_ = fn(ctx)
		}
	}
}

// BenchmarkFloorGoroutines is the hand-written equivalent of CheckAll: each
// check in a goroutine with its own timeout, waited for by a WaitGroup.
func BenchmarkFloorGoroutines(b *testing.B) {
	ctx := context.Background()
	errs := make([]error, benchChecks)
	b.ReportAllocs()
	for b.Loop() {
		var wg sync.WaitGroup
		for i, fn := range benchFns {
			wg.Go(func() {
				c, cancel := context.WithTimeout(ctx, time.Second)
				errs[i] = fn(c)
				cancel()
			})
		}
		wg.Wait()
	}
}

func benchChecker(b *testing.B, opts ...health.Option) *health.Checker {
	opts = append([]health.Option{
		health.WithTracerProvider(tracenoop.NewTracerProvider()),
		health.WithMeterProvider(metricnoop.NewMeterProvider()),
	}, opts...)
	c, err := health.NewChecker("bench", health.Config{}, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Stop)
	for i, fn := range benchFns {
		if err := c.Register(fmt.Sprint("check", i), fn); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

// BenchmarkCheckAll is CheckAll over the same checks, telemetry off: compare
// with BenchmarkFloorGoroutines.
func BenchmarkCheckAll(b *testing.B) {
	c := benchChecker(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c.CheckAll(ctx)
	}
}

// BenchmarkCheckAllTraced records the spans with the OTel SDK (no exporter).
func BenchmarkCheckAllTraced(b *testing.B) {
	tp := sdktrace.NewTracerProvider()
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	c := benchChecker(b, health.WithTracerProvider(tp))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c.CheckAll(ctx)
	}
}

func BenchmarkFloorGoroutinesParallel(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		errs := make([]error, benchChecks)
		for pb.Next() {
			var wg sync.WaitGroup
			for i, fn := range benchFns {
				wg.Go(func() {
					c, cancel := context.WithTimeout(ctx, time.Second)
					errs[i] = fn(c)
					cancel()
				})
			}
			wg.Wait()
		}
	})
}

// BenchmarkCheckAllParallel: concurrent CheckAlls share the runs under way.
func BenchmarkCheckAllParallel(b *testing.B) {
	c := benchChecker(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.CheckAll(ctx)
		}
	})
}

var (
	reportSink map[string]health.CheckResult
	timeSink   time.Time
)

// BenchmarkFloorReport builds by hand what Report returns: under a lock, a
// timestamp and a map of results.
func BenchmarkFloorReport(b *testing.B) {
	var mu sync.Mutex
	results := make([]health.CheckResult, benchChecks)
	for i := range results {
		results[i] = health.CheckResult{Name: fmt.Sprint("check", i), Status: health.Healthy}
	}
	b.ReportAllocs()
	for b.Loop() {
		mu.Lock()
		now := time.Now()
		m := make(map[string]health.CheckResult, len(results))
		for _, r := range results {
			m[r.Name] = r
		}
		mu.Unlock()
		reportSink, timeSink = m, now
	}
}

// BenchmarkReport reads the latest results, running nothing.
func BenchmarkReport(b *testing.B) {
	c := benchChecker(b)
	c.CheckAll(context.Background())
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Report()
	}
}

func BenchmarkReportParallel(b *testing.B) {
	c := benchChecker(b)
	c.CheckAll(context.Background())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = c.Report()
		}
	})
}

// BenchmarkFloorHandler writes a hand-built body of the same shape.
func BenchmarkFloorHandler(b *testing.B) {
	type entry struct {
		Status        string  `json:"status"`
		Time          string  `json:"time"`
		ObservedValue float64 `json:"observedValue"`
		ObservedUnit  string  `json:"observedUnit"`
	}
	body := struct {
		Status    string             `json:"status"`
		ServiceID string             `json:"serviceId"`
		Checks    map[string][]entry `json:"checks"`
	}{Status: "pass", ServiceID: "bench", Checks: map[string][]entry{}}
	for i := range benchChecks {
		body.Checks[fmt.Sprint("check", i)] = []entry{{"pass", time.Now().UTC().Format(time.RFC3339Nano), 0.01, "ms"}}
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", health.ContentType)
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(body)
	})
	req := httptest.NewRequest(http.MethodGet, "/health", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// BenchmarkHandler serves a started checker's latest report.
func BenchmarkHandler(b *testing.B) {
	c := benchChecker(b)
	if err := c.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	c.CheckAll(context.Background())
	h := c.Handler()
	req := httptest.NewRequest(http.MethodGet, "/health", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}
