package adapter

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/slo"
	"github.com/aragora/resilience/timeout"
)

// ErrInvalidConfig is matched, through errors.Is, by the errors [New] returns
// for a Config it cannot use. The message names the field; when the breaker,
// bulkhead or SLO package refused its part, the error matches that package's
// sentinel too (breaker.ErrInvalidConfig, bulkhead.ErrInvalidConfig,
// slo.ErrInvalid).
var ErrInvalidConfig = errors.New("adapter: invalid config")

// DefaultTimeout bounds each call when Config.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// DefaultMaxOperations is the bound on an adapter's distinct operation names
// when Config.MaxOperations is zero.
const DefaultMaxOperations = 32

// Config names an adapter and says where its breaker, bulkhead and SLO
// monitor come from. Each comes either ready-made (Breaker, Bulkhead, SLO) or
// by the adapter's name: from the breaker and bulkhead registries, which
// share them with every other user of that name in the program, and a new
// SLO monitor. Only Name is required.
type Config struct {
	// Name names the adapter, such as "knowledge_store". It must not be
	// empty. It is the name under which the breaker and bulkhead are looked
	// up, the name of the SLO monitor New creates, and the prefix of the
	// adapter's pipelines ("knowledge_store.search"), so it should come from
	// code and be unique among the adapters of a program.
	Name string

	// Breaker is the adapter's circuit breaker. Nil means the breaker named
	// Name in BreakerRegistry, created with BreakerConfig if the registry
	// has none yet.
	Breaker *breaker.Breaker
	// BreakerRegistry is where a nil Breaker is looked up. Nil means the
	// breaker package's default registry (breaker.Get).
	BreakerRegistry *breaker.Registry
	// BreakerConfig is the config of a breaker the registry creates. It is
	// ignored when Breaker is set or the registry already holds the breaker.
	// The zero value is breaker's default: open after 5 failures in a row.
	BreakerConfig breaker.Config

	// Bulkhead is the adapter's bulkhead. Nil means the bulkhead named Name
	// in BulkheadRegistry, created with BulkheadConfig if the registry has
	// none yet.
	Bulkhead *bulkhead.Bulkhead
	// BulkheadRegistry is where a nil Bulkhead is looked up. Nil means the
	// bulkhead package's default registry (bulkhead.Get).
	BulkheadRegistry *bulkhead.Registry
	// BulkheadConfig is the config of a bulkhead the registry creates. It is
	// ignored when Bulkhead is set or the registry already holds the
	// bulkhead. The zero value is bulkhead's default: 10 calls at once, no
	// queue.
	BulkheadConfig bulkhead.Config

	// SLO is the adapter's SLO monitor. Nil means a new monitor named Name
	// that holds Objective, which [Resilient.Close] closes.
	SLO *slo.Monitor
	// Objective is the objective of the monitor New creates; ignored when
	// SLO is set. The zero value is slo's default: 99.9% availability over
	// 30 days, no latency objective.
	Objective slo.Objective

	// Timeout bounds each call once it holds a bulkhead permit: the
	// function's context ends after Timeout, and a call still running then
	// fails with an error matching timeout.ErrTimeout and
	// context.DeadlineExceeded, which the breaker counts as a failure and
	// the SLO as a bad call. Zero means DefaultTimeout (5s); negative is an
	// error.
	Timeout time.Duration

	// MaxOperations bounds the distinct operation names the adapter keeps a
	// pipeline for: see [Resilient.ResilientCall]. Zero means
	// DefaultMaxOperations (32); negative is an error.
	MaxOperations int
}

// An Option configures the telemetry of an adapter.
type Option interface {
	apply(*options)
}

type options struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithTracerProvider sets the provider of the spans of the adapter's calls.
// By default, and when tp is nil, it is the otel package's global provider,
// looked up at each call.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(o *options) {
		if tp != nil {
			o.tp = tp
		}
	})
}

// WithMeterProvider sets the provider of the adapter's metrics: those of its
// pipelines, the gauges of the SLO monitor New creates, and those of a
// breaker or bulkhead a registry creates for it (one that already exists
// keeps its own). By default, and when mp is nil, it is the otel package's
// global provider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(o *options) {
		if mp != nil {
			o.mp = mp
		}
	})
}

// parts resolves cfg's breaker, bulkhead, timeout and monitor, reporting
// whether the monitor is the adapter's own. The monitor comes first, so that
// a bad Objective is refused before a registry creates anything.
func (cfg Config) parts(o options) (br *breaker.Breaker, bh *bulkhead.Bulkhead, to *timeout.Timeout, mon *slo.Monitor, own bool, err error) {
	if cfg.Name == "" {
		return nil, nil, nil, nil, false, fmt.Errorf("%w: Config.Name is empty", ErrInvalidConfig)
	}
	if cfg.MaxOperations < 0 {
		return nil, nil, nil, nil, false, fmt.Errorf("%w: Config.MaxOperations is %d; want a positive bound, or zero for %d", ErrInvalidConfig, cfg.MaxOperations, DefaultMaxOperations)
	}
	limit := cfg.Timeout
	switch {
	case limit < 0:
		return nil, nil, nil, nil, false, fmt.Errorf("%w: Config.Timeout is %v; want a positive limit, or zero for %v", ErrInvalidConfig, limit, DefaultTimeout)
	case limit == 0:
		limit = DefaultTimeout
	}
	if to, err = timeout.New(limit, timeout.WithName(cfg.Name)); err != nil {
		return nil, nil, nil, nil, false, fmt.Errorf("%w: Config.Timeout: %w", ErrInvalidConfig, err) // unreachable: limit > 0
	}

	mon = cfg.SLO
	if mon == nil {
		if mon, err = slo.New(cfg.Name, cfg.Objective, slo.WithMeterProvider(o.mp)); err != nil {
			return nil, nil, nil, nil, false, fmt.Errorf("%w: Config.Objective: %w", ErrInvalidConfig, err)
		}
		own = true
		created := mon // the error returns below clear mon
		defer func() {
			if err != nil {
				_ = created.Close()
			}
		}()
	}

	if br = cfg.Breaker; br == nil {
		var opts []breaker.Option
		if o.mp != nil {
			opts = append(opts, breaker.WithMeterProvider(o.mp))
		}
		if cfg.BreakerRegistry != nil {
			br, err = cfg.BreakerRegistry.Get(cfg.Name, cfg.BreakerConfig, opts...)
		} else {
			br, err = breaker.Get(cfg.Name, cfg.BreakerConfig, opts...)
		}
		if err != nil {
			return nil, nil, nil, nil, false, fmt.Errorf("%w: Config.BreakerConfig: %w", ErrInvalidConfig, err)
		}
	}

	if bh = cfg.Bulkhead; bh == nil {
		var opts []bulkhead.Option
		if o.mp != nil {
			opts = append(opts, bulkhead.WithMeterProvider(o.mp))
		}
		if cfg.BulkheadRegistry != nil {
			bh, err = cfg.BulkheadRegistry.Get(cfg.Name, cfg.BulkheadConfig, opts...)
		} else {
			bh, err = bulkhead.Get(cfg.Name, cfg.BulkheadConfig, opts...)
		}
		if err != nil {
			return nil, nil, nil, nil, false, fmt.Errorf("%w: Config.BulkheadConfig: %w", ErrInvalidConfig, err)
		}
	}
	return br, bh, to, mon, own, nil
}
