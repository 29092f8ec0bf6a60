// Package demoapp is the service of the demo and of the end-to-end tests: an
// HTTP endpoint that calls a flaky upstream, served over HTTP on 127.0.0.1,
// through a resilience pipeline in its HTTP client, with health checks
// derived from the pipeline's policies.
package demoapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/fallback"
	"github.com/aragora/resilience/health"
	"github.com/aragora/resilience/hedge"
	"github.com/aragora/resilience/otelhooks"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/resiliencehttp"
	"github.com/aragora/resilience/retry"
	"github.com/aragora/resilience/slo"
	"github.com/aragora/resilience/timeout"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Config shapes the service's pipeline: start from DefaultConfig and change
// what a run needs. Zero fields mean what the policies' own zero configs mean.
type Config struct {
	Name       string          // names the pipeline and its policies; required
	Timeout    time.Duration   // limit of each attempt
	HedgeDelay time.Duration   // wait before a hedged attempt; zero: adaptive, the p95 of the attempts that won
	Retry      retry.Config    // delays and attempts
	Breaker    breaker.Config  // trip rule and cooldown; a nil Classifier counts responses as resiliencehttp.BreakerClassifier does
	Bulkhead   bulkhead.Config // requests in flight and waiting
	Objective  slo.Objective   // what the SLO monitor holds the calls to
}

// DefaultConfig is the demo's pipeline: each attempt bounded to 300ms, up to
// two retries 50ms and 100ms apart (jittered), each attempt hedged once after
// the p95 of the attempts that won (adaptive; 1s until 20 have), a breaker that
// opens after 5 consecutive failures for 5s and closes after 2 good trials,
// at most 4 requests in flight with 8 more waiting up to 200ms, and an
// objective of 99% of calls succeeding, 99% of them within 250ms, over 12
// hours, that alerts only once a rule's long window holds 20 calls. A demo
// lasts minutes, so its objective's window is short: its alert windows are a
// sixtieth of the SRE workbook's (5s for 5m, 1m for 1h), which the
// Prometheus of make backends-up, scraping every second, evaluates too.
func DefaultConfig() Config {
	return Config{
		Name:      "upstream",
		Timeout:   300 * time.Millisecond,
		Retry:     retry.Config{MaxRetries: 2, BaseDelay: 50 * time.Millisecond, MaxDelay: time.Second},
		Breaker:   breaker.Config{FailureThreshold: 5, SuccessThreshold: 2, HalfOpenMaxRequests: 2, Cooldown: 5 * time.Second},
		Bulkhead:  bulkhead.Config{MaxConcurrent: 4, MaxQueue: 8, MaxWait: 200 * time.Millisecond},
		Objective: slo.Objective{Availability: 0.99, Latency: 250 * time.Millisecond, Window: 12 * time.Hour, AlertMinCalls: 20},
	}
}

// ServiceName is the service name of the demo's telemetry, and the service
// of its SLO rules.
const ServiceName = "resilience-demo"

// PrometheusSLOs are the objectives of a service of configuration cfg, as
// Prometheus judges them over every replica: cmd/slo-rules writes their rules,
// which scripts/backends.sh loads. An alert fires once its condition has held
// for 2s (two evaluations of that Prometheus), so that it is seen pending
// first.
func PrometheusSLOs(cfg Config) []slo.PrometheusSLO {
	return []slo.PrometheusSLO{{Service: ServiceName, Name: cfg.Name, Objective: cfg.Objective, AlertFor: 2 * time.Second}}
}

// RejectedByHeader is the response header that names the policy that refused
// a call answered 503: "breaker" or "bulkhead".
const RejectedByHeader = "Resilience-Rejected-By"

// FallbackHeader is the response header of an answer served from the cache
// because the breaker was open: its value is "cache".
const FallbackHeader = "Resilience-Fallback"

// Answer is what a call of the upstream returns.
type Answer struct {
	Text   string // the upstream's answer
	Cached bool   // the last good answer, served because the breaker was open
}

// Service calls an [Upstream], served over HTTP on 127.0.0.1, through two
// pipelines, outermost first:
//
//	<name>-fallback: fallback
//	<name>:          slo → retry → hedge → breaker → bulkhead → timeout → HTTP GET
//
// The second runs in the HTTP client's transport (resiliencehttp over
// otelhttp), so that a trace reads GET / → <name>-fallback execute → … →
// <name> execute → <name> attempt → HTTP GET, one client span per attempt.
//
//   - The SLO monitor is outermost in <name>: it judges every call as its
//     caller sees it, retries included, and so do the Prometheus rules, which
//     read <name>'s execution outcomes.
//   - The retry wraps the hedge, so that each retry is hedged again.
//   - The hedge wraps the breaker, the bulkhead and the timeout, which see
//     each hedged attempt as an attempt: an open breaker refuses hedges too,
//     a hedged request takes a bulkhead permit like any request to the
//     upstream, and each attempt has its own 300ms.
//   - The timeout bounds each attempt, so that a retry or a hedge can follow.
//   - The fallback answers a refusal of the open breaker from the last good
//     answer. It sits in a pipeline of its own, outside <name>: inside it, it
//     would turn every refusal into a success of <name>, and the SLO monitor
//     and the Prometheus rules would not see an outage that the cache hides.
type Service struct {
	Pipeline *policy.Pipeline // <name>: the calls to the upstream
	Fallback *policy.Pipeline // <name>-fallback: the fallback around them
	Breaker  *breaker.Breaker
	Bulkhead *bulkhead.Bulkhead
	Hedge    *hedge.Hedge
	SLO      *slo.Monitor
	Health   *health.Checker

	up       *Upstream
	upstream *http.Server
	url      string
	client   *http.Client
	otelOpts []otelhttp.Option
	cache    atomic.Pointer[Answer]
	unsubs   []func()
}

// Option sets where the service's telemetry goes.
type Option func(*options)

type options struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// WithTracerProvider sends the service's spans, the pipelines' and
// otelhttp's, to tp instead of the global provider.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(o *options) { o.tp = tp } }

// WithMeterProvider sends the service's metrics, the pipelines' and
// otelhttp's, to mp instead of the global provider.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(o *options) { o.mp = mp } }

// New builds the service's pipelines and health checks, and starts serving up
// over HTTP on 127.0.0.1 until Close. The listeners of the policies report to
// cb when it is not nil.
func New(cfg Config, up *Upstream, cb otelhooks.Callbacks, opts ...Option) (_ *Service, err error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s := &Service{up: up}
	var popts []policy.Option
	if o.tp != nil {
		popts = append(popts, policy.WithTracerProvider(o.tp))
		s.otelOpts = append(s.otelOpts, otelhttp.WithTracerProvider(o.tp))
	}
	if o.mp != nil {
		popts = append(popts, policy.WithMeterProvider(o.mp))
		s.otelOpts = append(s.otelOpts, otelhttp.WithMeterProvider(o.mp))
	}
	if s.SLO, err = slo.New(cfg.Name, cfg.Objective); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.SLO.Close() // its goroutine, the one thing New has started by then
		}
	}()
	r, err := retry.New(cfg.Retry, otelhooks.RetryOptions(cb)...)
	if err != nil {
		return nil, err
	}
	var hopts []hedge.Option
	if cfg.HedgeDelay != 0 {
		hopts = append(hopts, hedge.WithDelay(cfg.HedgeDelay))
	}
	if s.Hedge, err = hedge.New(hopts...); err != nil {
		return nil, err
	}
	if cfg.Breaker.Classifier == nil {
		cfg.Breaker.Classifier = resiliencehttp.BreakerClassifier
	}
	if s.Breaker, err = breaker.New(cfg.Name, cfg.Breaker); err != nil {
		return nil, err
	}
	if s.Bulkhead, err = bulkhead.New(cfg.Name, cfg.Bulkhead); err != nil {
		return nil, err
	}
	t, err := timeout.New(cfg.Timeout, otelhooks.TimeoutOption(cb))
	if err != nil {
		return nil, err
	}
	if s.Pipeline, err = policy.New(cfg.Name, s.SLO, r, s.Hedge, s.Breaker, s.Bulkhead, t); err != nil {
		return nil, err
	}
	fb, err := fallback.NewValue(s.cached, fallback.WithPredicate(s.servable))
	if err != nil {
		return nil, err
	}
	if s.Fallback, err = policy.New(cfg.Name+"-fallback", fb); err != nil {
		return nil, err
	}
	s.Pipeline, s.Fallback = s.Pipeline.With(popts...), s.Fallback.With(popts...)

	if s.Health, err = health.NewChecker(cfg.Name, health.Config{CheckInterval: 5 * time.Second, FailureThreshold: 1}); err != nil {
		return nil, err
	}
	for _, reg := range []error{
		s.Health.RegisterBreaker("breaker", health.BreakerOpen(s.Breaker)),
		s.Health.RegisterBulkhead("bulkhead", health.BulkheadSaturated(s.Bulkhead)),
		s.Health.RegisterSLO("slo", health.SLOPaging(s.SLO)),
	} {
		if reg != nil {
			return nil, reg
		}
	}

	base := &http.Transport{MaxIdleConnsPerHost: 16}
	if s.client, err = resiliencehttp.NewClient(&http.Client{Transport: otelhttp.NewTransport(base, s.otelOpts...)}, s.Pipeline); err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demoapp: cannot serve the upstream: %w", err)
	}
	s.url = "http://" + lis.Addr().String() + "/"
	s.upstream = &http.Server{Handler: up, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.upstream.Serve(lis) }()

	s.unsubs = append(s.unsubs, otelhooks.ObserveBreaker(cb, s.Breaker), otelhooks.ObserveHealth(cb, s.Health))
	return s, nil
}

// UpstreamURL returns the URL the upstream is served at.
func (s *Service) UpstreamURL() string { return s.url }

// Fetch calls the upstream through the pipelines: the answer is the
// upstream's, or the last good one when the breaker refused the call.
// A failed response is an error matching its *StatusError, such as
// ErrUnavailable.
func (s *Service) Fetch(ctx context.Context) (Answer, error) {
	return policy.Get(ctx, s.Fallback, s.fetch)
}

// fetch is one call through the upstream's pipeline, in the client's
// transport.
func (s *Service) fetch(ctx context.Context) (Answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return Answer{}, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return Answer{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Answer{}, &StatusError{Code: resp.StatusCode}
	}
	a := Answer{Text: string(body)}
	s.cache.Store(&a)
	return a, nil
}

// servable says whether the fallback answers err: a refusal of the open
// breaker, once there is an answer to serve.
func (s *Service) servable(err error) bool {
	return errors.Is(err, breaker.ErrOpen) && s.cache.Load() != nil
}

// cached is the fallback: the last good answer.
func (s *Service) cached(_ context.Context, err error) (Answer, error) {
	a := s.cache.Load()
	if a == nil {
		return Answer{}, err
	}
	return Answer{Text: a.Text, Cached: true}, nil
}

// Register adds the service's endpoints to mux: GET / calls the upstream once
// through the pipelines, under otelhttp's server span, GET /health reports
// the checks.
func (s *Service) Register(mux *http.ServeMux) {
	opts := append([]otelhttp.Option{otelhttp.WithSpanNameFormatter(func(op string, _ *http.Request) string { return op })}, s.otelOpts...)
	mux.Handle("GET /{$}", otelhttp.NewHandler(http.HandlerFunc(s.serveFetch), "GET /", opts...))
	mux.Handle("GET /health", s.Health.Handler(health.WithErrorDetails()))
}

func (s *Service) serveFetch(w http.ResponseWriter, r *http.Request) {
	traceID := trace.SpanContextFromContext(r.Context()).TraceID()
	answer, err := s.Fetch(r.Context())
	if err != nil {
		code := http.StatusBadGateway
		if errors.Is(err, policy.ErrRejected) {
			code = http.StatusServiceUnavailable
			switch {
			case errors.Is(err, breaker.ErrOpen):
				w.Header().Set(RejectedByHeader, "breaker")
			case errors.Is(err, bulkhead.ErrFull), errors.Is(err, bulkhead.ErrWaitTimeout):
				w.Header().Set(RejectedByHeader, "bulkhead")
			}
		}
		http.Error(w, fmt.Sprintf("%v (trace %s)", err, traceID), code)
		return
	}
	if answer.Cached {
		w.Header().Set(FallbackHeader, "cache")
		fmt.Fprintf(w, "%s, cached: the breaker is open (trace %s)\n", answer.Text, traceID)
		return
	}
	fmt.Fprintf(w, "%s (trace %s)\n", answer.Text, traceID)
}

// Start runs the health checks in the background until Close.
func (s *Service) Start(ctx context.Context) error { return s.Health.Start(ctx) }

// Close stops the upstream's server, the health checks and the listeners.
func (s *Service) Close() {
	_ = s.upstream.Close()
	s.client.CloseIdleConnections()
	s.Health.Stop()
	for _, u := range s.unsubs {
		u()
	}
	s.SLO.Close()
}
