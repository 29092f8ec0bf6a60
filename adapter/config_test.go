package adapter_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/aragora/resilience/adapter"
	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/slo"
)

func TestNewRejectsBadConfigNamingTheField(t *testing.T) {
	tests := []struct {
		name  string
		cfg   adapter.Config
		field string
		also  error
	}{
		{"no name", adapter.Config{}, "Config.Name", nil},
		{"negative operation bound", adapter.Config{Name: "kb", MaxOperations: -1}, "Config.MaxOperations", nil},
		{"bad breaker config", adapter.Config{Name: "kb", BreakerConfig: breaker.Config{FailureThreshold: -1}}, "Config.BreakerConfig", breaker.ErrInvalidConfig},
		{"bad bulkhead config", adapter.Config{Name: "kb", BulkheadConfig: bulkhead.Config{MaxConcurrent: -1}}, "Config.BulkheadConfig", bulkhead.ErrInvalidConfig},
		{"bad objective", adapter.Config{Name: "kb", Objective: slo.Objective{Availability: 2}}, "Config.Objective", slo.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.BreakerRegistry, tt.cfg.BulkheadRegistry = new(breaker.Registry), new(bulkhead.Registry)
			r, err := adapter.New(tt.cfg)
			if err == nil {
				_ = r.Close()
				t.Fatalf("New succeeded; want an error naming %s", tt.field)
			}
			if !errors.Is(err, adapter.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q; want ErrInvalidConfig naming %s", err, tt.field)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Errorf("error %q does not match %v", err, tt.also)
			}
		})
	}
}

// A bad objective is refused before the registries create anything.
func TestABadObjectiveCreatesNothingInTheRegistries(t *testing.T) {
	breakers, bulkheads := new(breaker.Registry), new(bulkhead.Registry)
	_, err := adapter.New(adapter.Config{Name: "kb", Objective: slo.Objective{Window: -1},
		BreakerRegistry: breakers, BulkheadRegistry: bulkheads})
	if err == nil {
		t.Fatal("New succeeded with a negative window")
	}
	if len(breakers.All()) != 0 || len(bulkheads.All()) != 0 {
		t.Errorf("registries hold %d breakers and %d bulkheads, want none", len(breakers.All()), len(bulkheads.All()))
	}
}

func TestPartsComeFromTheRegistriesByName(t *testing.T) {
	breakers, bulkheads := new(breaker.Registry), new(bulkhead.Registry)
	a := newAdapter(t, adapter.Config{Name: "kb", BreakerRegistry: breakers, BulkheadRegistry: bulkheads,
		BulkheadConfig: bulkhead.Config{MaxConcurrent: 7}})
	b := newAdapter(t, adapter.Config{Name: "kb", BreakerRegistry: breakers, BulkheadRegistry: bulkheads})
	if a.Breaker() != b.Breaker() || a.Bulkhead() != b.Bulkhead() {
		t.Error("two adapters of one name got different breakers or bulkheads from the same registries")
	}
	if got := b.Bulkhead().Config().MaxConcurrent; got != 7 {
		t.Errorf("the shared bulkhead admits %d, want the 7 of the config that created it", got)
	}
	if a.Breaker().Name() != "kb" || a.Bulkhead().Name() != "kb" || a.SLO().Name() != "kb" || a.AdapterName() != "kb" {
		t.Errorf("parts named %q, %q, %q, %q; want all kb", a.Breaker().Name(), a.Bulkhead().Name(), a.SLO().Name(), a.AdapterName())
	}
}

func TestTheDefaultRegistriesServeByDefault(t *testing.T) {
	const name = "adapter-test-default-registries"
	r, err := adapter.New(adapter.Config{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	br, _ := breaker.Get(name, breaker.Config{})
	bh, _ := bulkhead.Get(name, bulkhead.Config{})
	if r.Breaker() != br || r.Bulkhead() != bh {
		t.Error("the adapter's parts are not those of the default registries")
	}
}

func TestPartsPassedInAreUsedAsTheyAre(t *testing.T) {
	br, err := breaker.New("kb-breaker", breaker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	bh, err := bulkhead.New("kb-bulkhead", bulkhead.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mon, err := slo.New("kb-slo", slo.Objective{})
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	r := newAdapter(t, adapter.Config{Name: "kb", Breaker: br, Bulkhead: bh, SLO: mon})
	if r.Breaker() != br || r.Bulkhead() != bh || r.SLO() != mon {
		t.Error("the adapter replaced the parts it was given")
	}
	// The monitor is its owner's: closing the adapter leaves it registered.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// When a later part fails, the SLO monitor New created is closed: its gauges
// leave the meter provider instead of reporting for an adapter that never was.
func TestAFailedNewUnregistersTheMonitorItCreated(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	for _, cfg := range []adapter.Config{
		{Name: "kb", BreakerConfig: breaker.Config{FailureThreshold: -1}},
		{Name: "kb", BulkheadConfig: bulkhead.Config{MaxConcurrent: -1}},
	} {
		cfg.BreakerRegistry, cfg.BulkheadRegistry = new(breaker.Registry), new(bulkhead.Registry)
		if _, err := adapter.New(cfg, adapter.WithMeterProvider(mp)); err == nil {
			t.Fatalf("New(%+v) succeeded", cfg)
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if strings.HasPrefix(m.Name, "resilience.slo.") {
				t.Errorf("after failed New calls, the meter provider still reports %s", m.Name)
			}
		}
	}
}

func TestANegativeTimeoutIsRefused(t *testing.T) {
	_, err := adapter.New(adapter.Config{Name: "kb", Timeout: -time.Second,
		BreakerRegistry: new(breaker.Registry), BulkheadRegistry: new(bulkhead.Registry)})
	require.ErrorIs(t, err, adapter.ErrInvalidConfig)
	assert.ErrorContains(t, err, "Config.Timeout")
}
