package resiliencehttp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/resiliencehttp"
	"github.com/aragora/resilience/retry"
	"github.com/aragora/resilience/timeout"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// The goals, as ratios of benchstat medians (-col /impl):
//   - BenchmarkTransport: impl=resilient (retry and breaker) and
//     impl=resilient+timeout within 3 % of impl=bare, a bare http.Transport,
//     on a loopback round trip that succeeds at once.
//   - BenchmarkHandler: impl=resilient (a bulkhead) within 3 % of impl=bare,
//     the same handler unwrapped, on the same round trip.
// Telemetry is off: what is measured is the package's own cost.

func quiet(p *policy.Pipeline) *policy.Pipeline {
	return p.With(policy.WithTracerProvider(tracenoop.NewTracerProvider()),
		policy.WithMeterProvider(metricnoop.NewMeterProvider()))
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })

func roundTrips(b *testing.B, rt http.RoundTripper, url string) {
	b.Helper()
	c := &http.Client{Transport: rt}
	do := func() {
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			do()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				do()
			}
		})
	})
}

func base(b *testing.B) *http.Transport {
	t := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(t.CloseIdleConnections)
	return t
}

func BenchmarkTransport(b *testing.B) {
	srv := httptest.NewServer(okHandler)
	defer srv.Close()
	r, err := retry.New(retry.Config{})
	if err != nil {
		b.Fatal(err)
	}
	br, err := breaker.New("bench", breaker.Config{Classifier: resiliencehttp.BreakerClassifier})
	if err != nil {
		b.Fatal(err)
	}
	to, err := timeout.New(5 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("impl=bare", func(b *testing.B) { roundTrips(b, base(b), srv.URL) })
	for name, p := range map[string]*policy.Pipeline{
		"impl=resilient":         quiet(policy.MustNew("bench", r, br)),
		"impl=resilient+timeout": quiet(policy.MustNew("bench", r, br, to)),
	} {
		b.Run(name, func(b *testing.B) {
			tr, err := resiliencehttp.NewTransport(base(b), p)
			if err != nil {
				b.Fatal(err)
			}
			roundTrips(b, tr, srv.URL)
		})
	}
}

func BenchmarkHandler(b *testing.B) {
	bh, err := bulkhead.New("bench", bulkhead.Config{MaxConcurrent: 1024})
	if err != nil {
		b.Fatal(err)
	}
	h, err := resiliencehttp.Handler(okHandler, quiet(policy.MustNew("bench", bh)))
	if err != nil {
		b.Fatal(err)
	}
	for name, h := range map[string]http.Handler{"impl=bare": okHandler, "impl=resilient": h} {
		b.Run(name, func(b *testing.B) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			roundTrips(b, base(b), srv.URL)
		})
	}
}
