package otelhooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Setup installs the OpenTelemetry SDK for an application in one call, and
// returns the function that flushes and uninstalls it. It is for programs;
// libraries stay on the OpenTelemetry API and so pick up what Setup installs.
//
// Setup installs, as the otel package's globals:
//
//   - a MeterProvider whose reader is the Prometheus exporter. The metrics
//     are served as OpenMetrics by the handler that [WithServeMux] registers
//     (or [MetricsHandler] builds), so that exemplars, the trace and span IDs
//     of measurements taken inside sampled spans, reach Prometheus and lead
//     from a latency bucket to the trace behind it;
//   - a TracerProvider that samples as OTEL_TRACES_SAMPLER says (by default
//     every root span and what its parent decided), and exports over OTLP when
//     OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set,
//     with the protocol of OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL: "http/protobuf"
//     (the default), "http/json" or "grpc". [WithSpanExporter] and
//     [WithSpanWriter] add exporters of the caller's;
//   - the W3C trace-context and baggage propagators;
//
// all with one resource: service.name and service.version (see
// [WithServiceName]), the SDK's own attributes, and OTEL_RESOURCE_ATTRIBUTES.
//
// Setup reads the environment as the OpenTelemetry SDKs do, but refuses what
// it cannot use. OTEL_SDK_DISABLED=true (in any case) makes Setup a no-op for
// every signal: it installs nothing, no span reaches an exporter or the span
// writer, the handler of [WithServeMux] serves only the registry of
// [WithRegistry] (or nothing), and no other variable is read. A value that
// Setup cannot use fails it with an [*EnvError] naming the variable and its
// value, where the SDK alone would log it and fall back to a default:
// OTEL_SDK_DISABLED other than true or false, an unknown OTEL_TRACES_SAMPLER,
// an OTEL_TRACES_SAMPLER_ARG that is not a ratio from 0 to 1 for a ratio
// sampler, an OTLP endpoint that is not an http:// or https:// URL with a
// host, an unknown OTLP protocol.
//
// The returned shutdown flushes the spans still buffered, shuts the providers
// down, puts back the globals that Setup replaced, and returns what went
// wrong; later calls return the same. Call it before the program exits. On
// error Setup installs nothing.
//
// Call Setup once in a program. The library's pipelines look the global
// providers up as they run, and follow every Setup. But an instrument or
// tracer taken from the otel package's globals belongs for good to the SDK
// installed when it was taken, or, taken while none is, to the first SDK the
// program ever installed: the otel package delegates its global providers
// only once. So after a shutdown, an slo.Monitor or a [MetricsCallbacks] made
// from the globals stays bound to an SDK shut down and records nothing, even
// once the next Setup is installed; make such values again after the next
// Setup, or give them its provider.
func Setup(ctx context.Context, opts ...Option) (shutdown func(context.Context) error, err error) {
	var cfg setupConfig
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}

	var views []sdkmetric.View
	if len(cfg.latencyBounds) > 0 {
		if views, err = DurationViews(cfg.latencyBounds...); err != nil {
			return nil, err
		}
	}
	disabled, err := sdkDisabled()
	if err != nil {
		return nil, err
	}
	if disabled {
		return setupDisabled(&cfg)
	}
	sampler, err := samplerFromEnv()
	if err != nil {
		return nil, err
	}
	if err := checkEndpoints(); err != nil {
		return nil, err
	}

	res, err := newResource(ctx, &cfg)
	if err != nil {
		return nil, err
	}

	reg := cfg.registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	promExp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("otelhooks: prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(promExp), sdkmetric.WithView(views...))

	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if sampler != nil {
		tpOpts = append(tpOpts, sdktrace.WithSampler(sampler))
	}
	otlpExp, err := newOTLPExporter(ctx)
	if err != nil {
		_ = mp.Shutdown(ctx)
		return nil, err
	}
	if otlpExp != nil {
		tpOpts = append(tpOpts, sdktrace.WithBatcher(otlpExp))
	}
	for _, exp := range cfg.exporters {
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
	}
	if cfg.writer != nil {
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(newLineExporter(cfg.writer))))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)

	if cfg.mux != nil {
		if err := register(cfg.mux, MetricsHandler(reg)); err != nil {
			_ = tp.Shutdown(ctx)
			_ = mp.Shutdown(ctx)
			return nil, err
		}
	}

	prev := globals{otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator()}
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	// Behind a pointer, so that shutdown can tell whether it is still the
	// global one: a composite propagator is a slice, which == cannot compare.
	prop := &installedPropagator{propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}
	otel.SetTextMapPropagator(prop)

	var (
		once sync.Once
		serr error
	)
	return func(ctx context.Context) error {
		once.Do(func() {
			// Spans first: their exporters may still record metrics.
			serr = errors.Join(tp.Shutdown(ctx), mp.Shutdown(ctx))
			prev.restore(tp, mp, prop)
		})
		return serr
	}, nil
}

// setupDisabled is Setup under OTEL_SDK_DISABLED=true: it installs nothing,
// registers the handler of the caller's registry (or of an empty one), and
// returns a shutdown that shuts the caller's exporters down.
func setupDisabled(cfg *setupConfig) (shutdown func(context.Context) error, err error) {
	if cfg.mux != nil {
		reg := cfg.registry
		if reg == nil {
			reg = prometheus.NewRegistry()
		}
		if err := register(cfg.mux, MetricsHandler(reg)); err != nil {
			return nil, err
		}
	}
	var (
		once sync.Once
		serr error
	)
	return func(ctx context.Context) error {
		once.Do(func() {
			for _, exp := range cfg.exporters {
				serr = errors.Join(serr, exp.Shutdown(ctx))
			}
		})
		return serr
	}, nil
}

// MetricsHandler returns a handler that serves what g gathers, as OpenMetrics
// to scrapers that ask for it (Prometheus does) and as the classic text format
// to the others. Only OpenMetrics carries exemplars.
func MetricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		ErrorHandling:     promhttp.ContinueOnError, // serve what could be gathered
	})
}

// register adds the metrics handler to mux, turning the panic of a pattern
// already registered into an error.
func register(mux *http.ServeMux, h http.Handler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("otelhooks: WithServeMux: cannot register GET /metrics: %v", v)
		}
	}()
	mux.Handle("GET /metrics", h)
	return nil
}

// globals are the otel package's providers and propagator before Setup.
type globals struct {
	tp   trace.TracerProvider
	mp   metric.MeterProvider
	prop propagation.TextMapPropagator
}

// restore puts the globals back, unless someone else replaced Setup's since.
func (g globals) restore(tp *sdktrace.TracerProvider, mp *sdkmetric.MeterProvider, prop *installedPropagator) {
	if otel.GetTracerProvider() == trace.TracerProvider(tp) {
		otel.SetTracerProvider(g.tp)
	}
	if otel.GetMeterProvider() == metric.MeterProvider(mp) {
		otel.SetMeterProvider(g.mp)
	}
	// Interface values of different dynamic types compare unequal without
	// panicking, whatever the other propagator's type.
	if otel.GetTextMapPropagator() == propagation.TextMapPropagator(prop) {
		otel.SetTextMapPropagator(g.prop)
	}
}

// installedPropagator is the propagator Setup installs, as a pointer.
type installedPropagator struct {
	propagation.TextMapPropagator
}

func newResource(ctx context.Context, cfg *setupConfig) (*resource.Resource, error) {
	attrs := append([]attribute.KeyValue(nil), cfg.attrs...)
	if cfg.serviceName != "" {
		attrs = append(attrs, attribute.String("service.name", cfg.serviceName))
	}
	version := cfg.serviceVersion
	if version == "" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
	}
	if version != "" {
		attrs = append(attrs, attribute.String("service.version", version))
	}
	// Later sources win: the default name, ours, then the environment's.
	res, err := resource.New(ctx,
		resource.WithService(),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attrs...),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("otelhooks: resource: %w", err)
	}
	return res, nil
}

// newOTLPExporter returns the OTLP span exporter that the environment asks
// for, or nil when no endpoint is set.
func newOTLPExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return nil, nil
	}
	key := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	protocol := os.Getenv(key)
	if protocol == "" {
		key = "OTEL_EXPORTER_OTLP_PROTOCOL"
		protocol = os.Getenv(key)
	}
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch strings.TrimSpace(protocol) {
	case "", "http/protobuf", "http/json":
		exp, err = otlptracehttp.New(ctx) // reads the OTEL_EXPORTER_OTLP_* variables itself
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, &EnvError{key, protocol, "is not one of http/protobuf, http/json, grpc"}
	}
	if err != nil {
		return nil, fmt.Errorf("otelhooks: OTLP exporter: %w", err)
	}
	return exp, nil
}
