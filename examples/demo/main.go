// Command demo is a small service that calls a flaky upstream, served over
// HTTP on 127.0.0.1, through a resilience pipeline in its HTTP client
// (slo → retry → hedge → breaker → bulkhead → timeout, with a fallback to the
// last good answer while the breaker is open) and shows every decision the
// pipeline takes in OpenTelemetry.
//
// It serves GET / (one call to the upstream), /metrics (Prometheus, with
// exemplars) and /health, and calls itself a few times a second, with an
// outage of the upstream now and then, so that there is something to see.
// It prints one summary line every few seconds, like a small dashboard, and a
// line for each change of the breaker's state. Spans go to Jaeger over OTLP
// when OTEL_EXPORTER_OTLP_ENDPOINT is set (make demo sets it when Jaeger
// runs), and are printed one per line only when asked (-traces stdout).
//
//	go run ./demo [-addr 127.0.0.1:8080] [-traces none|stdout|FILE] [-duration 0]
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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aragora/resilience/examples/internal/demoapp"
	"github.com/aragora/resilience/otelhooks"
	"github.com/prometheus/client_golang/prometheus"
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
	report      time.Duration
	outageFirst time.Duration
	outageEvery time.Duration
	outageFor   time.Duration
	duration    time.Duration
}

func parse(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to serve on (Prometheus from make backends-up scrapes 127.0.0.1:8080)")
	fs.StringVar(&o.traces, "traces", "none", "where to print spans, one line each: none, stdout, or a file (spans go to Jaeger over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, whatever this says)")
	fs.DurationVar(&o.every, "every", 250*time.Millisecond, "time between two calls of the built-in load; 0 turns the load off")
	fs.DurationVar(&o.report, "report", 5*time.Second, "time between two summary lines")
	fs.DurationVar(&o.outageFirst, "outage-first", 10*time.Second, "time until the first outage of the upstream")
	fs.DurationVar(&o.outageEvery, "outage-every", 30*time.Second, "time from the start of one outage of the upstream to the next; 0: none")
	fs.DurationVar(&o.outageFor, "outage-for", 8*time.Second, "length of an outage")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long; 0: run until interrupted")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.every < 0 || o.outageFirst < 0 || o.outageEvery < 0 || o.outageFor < 0 || o.duration < 0 {
		return o, errors.New("durations must not be negative")
	}
	if o.report <= 0 {
		return o, errors.New("-report must be positive")
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
	reg := prometheus.NewRegistry() // what /metrics serves, and the summary lines read
	setupOpts := []otelhooks.Option{otelhooks.WithServiceName(demoapp.ServiceName), otelhooks.WithServeMux(mux), otelhooks.WithRegistry(reg)}
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

	// The pipeline's own telemetry already makes the resilience_* metrics; the
	// listeners here only feed the summary lines.
	st := &stats{out: stdout, start: time.Now(), reg: reg}
	up := demoapp.NewUpstream(demoapp.UpstreamConfig{
		FailureRate: 0.2, SlowRate: 0.05, Latency: 20 * time.Millisecond, SlowLatency: 400 * time.Millisecond,
		RandomSeed: uint64(time.Now().UnixNano()),
	})
	svc, err := demoapp.New(demoapp.DefaultConfig(), up, st)
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
		wg.Go(func() { load(ctx, base+"/", o.every, st) })
	}
	if o.outageEvery > 0 && o.outageFor > 0 {
		wg.Go(func() { outages(ctx, up, o.outageFirst, o.outageEvery, o.outageFor, st) })
	}
	wg.Go(func() { st.summarize(ctx, o.report, svc) })

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
	closeFn = func() {}
	switch traces {
	case "stdout":
		w, where = stdout, "printed below, one line per span"
	case "none", "":
		where = "not printed (-traces stdout prints them)"
	default:
		f, err := os.Create(traces)
		if err != nil {
			return nil, "", nil, err
		}
		w, where, closeFn = f, "written to "+traces+", one line per span", func() { _ = f.Close() }
	}
	if otlp != "" {
		where = "sent over OTLP to " + otlp + "; " + where +
			"\n  Jaeger      http://127.0.0.1:16686/api/traces?service=resilience-demo&limit=5"
	} else {
		where += "; make backends-up, then make demo, sends them to Jaeger"
	}
	return w, where, closeFn, nil
}

func banner(w io.Writer, base, traces string, o options) {
	fmt.Fprintf(w, `resilience demo: a service calling a flaky upstream over HTTP through slo → retry → hedge → breaker → bulkhead → timeout, with a fallback to the last answer while the breaker is open
  call it     %[1]s/         (called every %[2]v, 16 at once every 10s; the upstream goes down for %[3]v after %[4]v, then every %[5]v)
  metrics     %[1]s/metrics  (Prometheus; OpenMetrics with exemplars: curl -H 'Accept: application/openmetrics-text' %[1]s/metrics)
  health      %[1]s/health
  traces      %[6]s
  Prometheus  http://127.0.0.1:9090/graph?g0.expr=sum+by+(event)(rate(resilience_events_total[1m]))  (when make backends-up runs it)
One line every %[7]v: calls, what became of them (fallback: answered from the cache), hedged attempts, and the state of the breaker and the SLO. Ctrl-C stops.
`, base, o.every, o.outageFor, o.outageFirst, o.outageEvery, traces, o.report)
}

// stats counts what the load saw and what the pipeline's listeners heard,
// for the summary lines. It is the demo's otelhooks.Callbacks.
type stats struct {
	out   io.Writer
	start time.Time
	reg   *prometheus.Registry // the pipeline's metrics, for the hedges

	hedges                            float64 // counted up to the last summary line
	calls, ok, cached, failed, other  atomic.Int64
	rejectedBreaker, rejectedBulkhead atomic.Int64
	retries, exhausted, timeouts      atomic.Int64
	mu                                sync.Mutex // serializes lines
}

var _ otelhooks.Callbacks = (*stats)(nil)

func (s *stats) CircuitBreakerStateChanged(name, oldState, newState string) {
	s.printf("breaker %s: %s → %s", name, oldState, newState)
}
func (s *stats) RetryAttempt(string, int, time.Duration)    { s.retries.Add(1) }
func (s *stats) RetryExhausted(string, int)                 { s.exhausted.Add(1) }
func (s *stats) TimeoutOccurred(string, time.Duration)      { s.timeouts.Add(1) }
func (s *stats) HealthStatusChanged(string, string, string) {}

func (s *stats) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.out, "%5.1fs  "+format+"\n", append([]any{time.Since(s.start).Seconds()}, args...)...)
}

// count files one answer of the service.
func (s *stats) count(resp *http.Response) {
	s.calls.Add(1)
	switch {
	case resp.StatusCode == http.StatusOK && resp.Header.Get(demoapp.FallbackHeader) != "":
		s.cached.Add(1)
	case resp.StatusCode == http.StatusOK:
		s.ok.Add(1)
	case resp.Header.Get(demoapp.RejectedByHeader) == "breaker":
		s.rejectedBreaker.Add(1)
	case resp.Header.Get(demoapp.RejectedByHeader) == "bulkhead":
		s.rejectedBulkhead.Add(1)
	case resp.StatusCode == http.StatusBadGateway:
		s.failed.Add(1)
	default:
		s.other.Add(1)
	}
}

// summarize prints one line every period, until ctx is done.
func (s *stats) summarize(ctx context.Context, every time.Duration, svc *demoapp.Service) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		snap := svc.SLO.Snapshot()
		// The burn over the shortest window that spans a summary period.
		w := snap.Availability.Windows[len(snap.Availability.Windows)-1]
		for _, c := range snap.Availability.Windows {
			if c.Window >= every {
				w = c
				break
			}
		}
		hedges := s.events(svc.Pipeline.Name(), "hedge")
		s.printf("calls %3d  ok %3d  fallback %3d  failed %2d  retries %3d  hedges %2d  rejected: breaker %3d bulkhead %2d  timeouts %2d | breaker %-9s | slo burn(%s) %5.1f  alert %s",
			s.calls.Swap(0), s.ok.Swap(0), s.cached.Swap(0), s.failed.Swap(0)+s.other.Swap(0), s.retries.Swap(0),
			int(hedges-s.hedges), s.rejectedBreaker.Swap(0), s.rejectedBulkhead.Swap(0), s.timeouts.Swap(0),
			svc.Breaker.State(), w.Window.Round(time.Second), w.BurnRate, snap.Alert)
		s.hedges = hedges
	}
}

// events returns how many events of kind event the pipeline has reported,
// read from the registry /metrics serves: resilience_events_total.
func (s *stats) events(pipeline, event string) float64 {
	families, err := s.reg.Gather()
	if err != nil {
		return 0
	}
	var n float64
	for _, f := range families {
		if f.GetName() != "resilience_events_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["pipeline"] == pipeline && labels["event"] == event {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// load calls the service every so often, and every 10s in a burst of 16
// concurrent calls that fills the bulkhead.
func load(ctx context.Context, url string, every time.Duration, st *stats) {
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(every)
	defer tick.Stop()
	burst := time.NewTicker(10 * time.Second)
	defer burst.Stop()
	var wg sync.WaitGroup
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
		st.count(resp)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-burst.C:
			for range 16 {
				wg.Go(call)
			}
		case <-tick.C:
			call()
		}
	}
}

// outages takes the upstream down for length, first after first, then at
// the start of every period.
func outages(ctx context.Context, up *demoapp.Upstream, first, every, length time.Duration, st *stats) {
	t := time.NewTimer(first)
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
			st.printf("the upstream is down for %v: watch the breaker open", length)
			t.Reset(length)
		} else {
			st.printf("the upstream is back: watch the breaker go half-open, then close")
			t.Reset(max(every-length, 0))
		}
	}
}
