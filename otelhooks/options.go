package otelhooks

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// ScopeName is the instrumentation scope of the instruments this package
// makes: its import path.
const ScopeName = "github.com/aragora/resilience/otelhooks"

var bg = context.Background()

// A MetricsOption configures [NewMetricsCallbacks].
type MetricsOption interface {
	applyMetrics(*metricsConfig)
}

type metricsConfig struct {
	mp metric.MeterProvider
}

type metricsOptionFunc func(*metricsConfig)

func (f metricsOptionFunc) applyMetrics(c *metricsConfig) { f(c) }

// WithMeterProvider sets the provider of the callbacks' meter. By default, and
// when mp is nil, it is the global provider of the otel package, whose
// delegation makes an SDK installed later (by [Setup], say) take effect: the
// first one installed only, as [Setup] explains.
func WithMeterProvider(mp metric.MeterProvider) MetricsOption {
	return metricsOptionFunc(func(c *metricsConfig) {
		if mp != nil {
			c.mp = mp
		}
	})
}

// An Option configures [Setup].
type Option interface {
	apply(*setupConfig)
}

type setupConfig struct {
	serviceName    string
	serviceVersion string
	attrs          []attribute.KeyValue
	mux            *http.ServeMux
	registry       *prometheus.Registry
	exporters      []sdktrace.SpanExporter
	writer         io.Writer
	latencyBounds  []time.Duration
}

type optionFunc func(*setupConfig)

func (f optionFunc) apply(c *setupConfig) { f(c) }

// WithServiceName sets the service.name of the resource. The
// OTEL_SERVICE_NAME variable, when set, wins, so that whoever runs the
// program can rename it. With neither, the name is "unknown_service:" and the
// executable's name, as OpenTelemetry specifies.
func WithServiceName(name string) Option {
	return optionFunc(func(c *setupConfig) { c.serviceName = name })
}

// WithServiceVersion sets the service.version of the resource. By default it
// is the main module's version from the build information, and absent when
// that is unknown (a build from a working tree).
func WithServiceVersion(version string) Option {
	return optionFunc(func(c *setupConfig) { c.serviceVersion = version })
}

// WithResourceAttributes adds attributes to the resource, such as
// deployment.environment. OTEL_RESOURCE_ATTRIBUTES, when set, wins for the
// keys it names.
func WithResourceAttributes(attrs ...attribute.KeyValue) Option {
	return optionFunc(func(c *setupConfig) { c.attrs = append(c.attrs, attrs...) })
}

// WithServeMux registers the metrics handler on mux, as "GET /metrics". By
// default no handler is registered anywhere: pass a mux, or a registry with
// [WithRegistry] and serve it with [MetricsHandler].
func WithServeMux(mux *http.ServeMux) Option {
	return optionFunc(func(c *setupConfig) { c.mux = mux })
}

// WithRegistry makes the Prometheus exporter register its collector on reg,
// next to whatever else reg collects. By default Setup makes a registry of
// its own, which only the handler of [WithServeMux] serves.
func WithRegistry(reg *prometheus.Registry) Option {
	return optionFunc(func(c *setupConfig) { c.registry = reg })
}

// WithSpanExporter adds an exporter that finished spans are sent to, in
// batches, besides the OTLP exporter that the environment configures. Nil is
// ignored. Shutdown flushes it and shuts it down.
func WithSpanExporter(exp sdktrace.SpanExporter) Option {
	return optionFunc(func(c *setupConfig) {
		if exp != nil {
			c.exporters = append(c.exporters, exp)
		}
	})
}

// WithSpanWriter writes each finished span to w as one line of text, as it
// ends: a trace to read in a terminal or a file when no tracing backend runs.
// A span is always one line: its name and error are Go-quoted strings, and an
// attribute key or value or an event name is Go-quoted unless it is plain
// (printable, without spaces or any of " \ { } | =), so a newline or a
// terminal escape in a span's data is written as \n or \x1b, never raw.
// Writes are serialised; w is not closed. Nil means no writer, the default.
func WithSpanWriter(w io.Writer) Option {
	return optionFunc(func(c *setupConfig) { c.writer = w })
}
