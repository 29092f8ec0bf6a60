// Package demoapp is the service of the demo and of the end-to-end tests: an
// HTTP endpoint that calls a flaky upstream through a resilience pipeline,
// with health checks derived from the pipeline's policies.
package demoapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/health"
	"github.com/aragora/resilience/otelhooks"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
	"github.com/aragora/resilience/slo"
	"github.com/aragora/resilience/timeout"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Config shapes the service's pipeline: start from DefaultConfig and change
// what a run needs. Zero fields mean what the policies' own zero configs mean.
type Config struct {
	Name      string          // names the pipeline and its policies; required
	Timeout   time.Duration   // limit of each attempt
	Retry     retry.Config    // delays and attempts
	Breaker   breaker.Config  // trip rule and cooldown
	Bulkhead  bulkhead.Config // calls in flight and waiting
	Objective slo.Objective   // what the SLO monitor holds the calls to
}

// DefaultConfig is the demo's pipeline: each attempt bounded to 300ms, up to
// two retries 50ms and 100ms apart (jittered), a breaker that opens after 5
// consecutive failures for 5s and closes after 2 good trials, at most 4 calls
// in flight with 8 more waiting up to 200ms, and an objective of 99% of calls
// succeeding, 99% of them within 250ms, over 12 hours, that alerts only once
// a rule's long window holds 20 calls. A demo lasts minutes, so its
// objective's window is short: its alert windows are a sixtieth of the SRE
// workbook's (5s for 5m, 1m for 1h), which the Prometheus of make
// backends-up, scraping every second, evaluates too.
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

// Service calls an [Upstream] through the pipeline
//
//	slo → retry → breaker → bulkhead → timeout → upstream
//
// outermost first: the SLO monitor sees what the caller sees, the retry
// retries single attempts, the breaker stops attempts while the upstream is
// down, the bulkhead bounds the attempts in flight, and the timeout bounds
// each attempt.
type Service struct {
	Pipeline *policy.Pipeline
	Breaker  *breaker.Breaker
	Bulkhead *bulkhead.Bulkhead
	SLO      *slo.Monitor
	Health   *health.Checker

	up     *Upstream
	tracer trace.Tracer
	unsubs []func()
}

// New builds the service's pipeline and health checks around up. The
// listeners of the policies report to cb when it is not nil.
func New(cfg Config, up *Upstream, cb otelhooks.Callbacks) (*Service, error) {
	s := &Service{up: up, tracer: otel.Tracer("github.com/aragora/resilience/examples/demo")}
	var err error
	if s.SLO, err = slo.New(cfg.Name, cfg.Objective); err != nil {
		return nil, err
	}
	r, err := retry.New(cfg.Retry, otelhooks.RetryOptions(cb)...)
	if err != nil {
		return nil, err
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
	if s.Pipeline, err = policy.New(cfg.Name, s.SLO, r, s.Breaker, s.Bulkhead, t); err != nil {
		return nil, err
	}

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
	s.unsubs = append(s.unsubs, otelhooks.ObserveBreaker(cb, s.Breaker), otelhooks.ObserveHealth(cb, s.Health))
	return s, nil
}

// Fetch calls the upstream through the pipeline.
func (s *Service) Fetch(ctx context.Context) (string, error) {
	return policy.Get(ctx, s.Pipeline, s.up.Call)
}

// Register adds the service's endpoints to mux: GET / calls the upstream once
// through the pipeline, GET /health reports the checks.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.serveFetch)
	mux.Handle("GET /health", s.Health.Handler(health.WithErrorDetails()))
}

func (s *Service) serveFetch(w http.ResponseWriter, r *http.Request) {
	ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := s.tracer.Start(ctx, "GET /", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()

	answer, err := s.Fetch(ctx)
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
		span.SetStatus(codes.Error, err.Error())
		http.Error(w, fmt.Sprintf("%v (trace %s)", err, span.SpanContext().TraceID()), code)
		return
	}
	fmt.Fprintf(w, "%s (trace %s)\n", answer, span.SpanContext().TraceID())
}

// Start runs the health checks in the background until Close.
func (s *Service) Start(ctx context.Context) error { return s.Health.Start(ctx) }

// Close stops the health checks and the listeners.
func (s *Service) Close() {
	s.Health.Stop()
	for _, u := range s.unsubs {
		u()
	}
	s.SLO.Close()
}
