// Command demo is a small service that calls a flaky upstream through a
// resilience pipeline (slo → retry → breaker → bulkhead → timeout) and shows
// every decision the pipeline takes in OpenTelemetry.
//
// It serves GET / (one call to the upstream), /metrics (Prometheus, with
// exemplars) and /health, and calls itself a few times a second, with an
// outage of the upstream now and then, so that there is something to see.
// With no backend, spans are printed one per line; with
// OTEL_EXPORTER_OTLP_ENDPOINT set (make demo sets it when Jaeger runs) they go
// to Jaeger over OTLP.
//
//	go run ./demo [-addr 127.0.0.1:8080] [-traces auto|stdout|none|FILE] [-duration 0]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/aragora/resilience/examples/internal/demoapp"
	"github.com/aragora/resilience/otelhooks"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type options struct {
	addr        string
	traces      string
	every       time.Duration
	outageEvery time.Duration
	outageFor   time.Duration
	duration    time.Duration
}

func parse(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to serve on (Prometheus from make backends-up scrapes 127.0.0.1:8080)")
	fs.StringVar(&o.traces, "traces", "auto", "where to print spans, one line each: stdout, none, or a file; auto means stdout unless OTEL_EXPORTER_OTLP_ENDPOINT is set")
	fs.DurationVar(&o.every, "every", 250*time.Millisecond, "time between two calls of the built-in load; 0 turns the load off")
	fs.DurationVar(&o.outageEvery, "outage-every", 30*time.Second, "time between two outages of the upstream; 0: none")
	fs.DurationVar(&o.outageFor, "outage-for", 8*time.Second, "length of an outage")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long; 0: run until interrupted")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.every < 0 || o.outageEvery < 0 || o.outageFor < 0 || o.duration < 0 {
		return o, errors.New("durations must not be negative")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) (err error) {
	o, err := parse(args, stdout)
	if err != nil {
		return err
	}
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}

	spans, where, closeSpans, err := spanOutput(o.traces, stdout)
	if err != nil {
		return err
	}
	defer closeSpans()

	mux := http.NewServeMux()
	setupOpts := []otelhooks.Option{otelhooks.WithServiceName(demoapp.ServiceName), otelhooks.WithServeMux(mux)}
	if spans != nil {
		setupOpts = append(setupOpts, otelhooks.WithSpanWriter(spans))
	}
	shutdown, err := otelhooks.Setup(ctx, setupOpts...)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = errors.Join(err, shutdown(sctx))
	}()

	cb, err := otelhooks.NewMetricsCallbacks("demo")
	if err != nil {
		return err
	}
	up := demoapp.NewUpstream(demoapp.UpstreamConfig{
		FailureRate: 0.2, SlowRate: 0.05, Latency: 20 * time.Millisecond, SlowLatency: 400 * time.Millisecond,
		Seed: uint64(time.Now().UnixNano()),
	})
	svc, err := demoapp.New(demoapp.DefaultConfig(), up, cb)
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := svc.Start(ctx); err != nil {
		return err
	}
	svc.Register(mux)

	lis, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("%w (is another demo running? choose another -addr)", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()

	base := "http://" + lis.Addr().String()
	banner(stdout, base, where, o)

	var wg sync.WaitGroup
	if o.every > 0 {
		wg.Go(func() { load(ctx, base+"/", o.every, stdout) })
	}
	if o.outageEvery > 0 && o.outageFor > 0 {
		wg.Go(func() { outages(ctx, up, o.outageEvery, o.outageFor, stdout) })
	}

	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	wg.Wait()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Fprintln(stdout, "demo: stopping")
	return srv.Shutdown(sctx)
}

// spanOutput returns where spans are printed, and a description of where
// they go for the banner.
func spanOutput(traces string, stdout io.Writer) (w io.Writer, where string, closeFn func(), err error) {
	otlp := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if otlp == "" {
		otlp = os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if traces == "auto" {
		traces = "stdout"
		if otlp != "" {
			traces = "none"
		}
	}
	closeFn = func() {}
	switch traces {
	case "stdout":
		w, where = stdout, "printed below, one line per span"
	case "none":
		where = "not printed"
	default:
		f, err := os.Create(traces)
		if err != nil {
			return nil, "", nil, err
		}
		w, where, closeFn = f, "written to "+traces+", one line per span", func() { _ = f.Close() }
	}
	if otlp != "" {
		where += "; sent over OTLP to " + otlp +
			"\n              Jaeger: http://127.0.0.1:16686/api/traces?service=resilience-demo&limit=5"
	} else {
		where += " (make backends-up, then make demo, sends them to Jaeger)"
	}
	return w, where, closeFn, nil
}

func banner(w io.Writer, base, traces string, o options) {
	fmt.Fprintf(w, `resilience demo: a service calling a flaky upstream through slo → retry → breaker → bulkhead → timeout
  call it     %[1]s/          (the demo calls it every %[2]v, 16 at once every 10s; the upstream is down %[3]v of every %[4]v)
  metrics     %[1]s/metrics   (OpenMetrics with exemplars: curl -H 'Accept: application/openmetrics-text' %[1]s/metrics)
  health      %[1]s/health
  traces      %[5]s
  Prometheus  http://127.0.0.1:9090/graph?g0.expr=sum+by+(event)(rate(resilience_events_total[1m]))  (when make backends-up runs it)
Ctrl-C stops.
`, base, o.every, o.outageFor, o.outageEvery, traces)
}

// load calls the service every so often, and every 10s in a burst of 16
// concurrent calls that fills the bulkhead; it prints a summary every 5s.
func load(ctx context.Context, url string, every time.Duration, out io.Writer) {
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(every)
	defer tick.Stop()
	burst := time.NewTicker(10 * time.Second)
	defer burst.Stop()
	report := time.NewTicker(5 * time.Second)
	defer report.Stop()
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		wg     sync.WaitGroup
	)
	defer wg.Wait()
	call := func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			return // stopping
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		mu.Lock()
		counts[resp.StatusCode]++
		mu.Unlock()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-report.C:
			mu.Lock()
			fmt.Fprintf(out, "demo: last 5s: %d ok, %d failed (502), %d rejected (503)\n",
				counts[http.StatusOK], counts[http.StatusBadGateway], counts[http.StatusServiceUnavailable])
			clear(counts)
			mu.Unlock()
		case <-burst.C:
			for range 16 {
				wg.Go(call)
			}
		case <-tick.C:
			call()
		}
	}
}

// outages takes the upstream down for a while, every so often.
func outages(ctx context.Context, up *demoapp.Upstream, every, length time.Duration, out io.Writer) {
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			up.SetDown(false)
			return
		case <-t.C:
		}
		down := !up.Down()
		up.SetDown(down)
		if down {
			fmt.Fprintf(out, "demo: the upstream is down for %v: watch the breaker open\n", length)
			t.Reset(length)
		} else {
			fmt.Fprintln(out, "demo: the upstream is back: watch the breaker close")
			t.Reset(every)
		}
	}
}
