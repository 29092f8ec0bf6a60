package bulkhead_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aragora/resilience/bulkhead"
)

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name  string
		bname string
		cfg   bulkhead.Config
		field string // the message must name it
	}{
		{"empty name", "", bulkhead.Config{}, "name"},
		{"negative MaxConcurrent", "b", bulkhead.Config{MaxConcurrent: -1}, "MaxConcurrent"},
		{"MaxConcurrent beyond 32 bits", "b", bulkhead.Config{MaxConcurrent: math.MaxInt32 + 1}, "MaxConcurrent"},
		{"negative MaxQueue", "b", bulkhead.Config{MaxQueue: -1}, "MaxQueue"},
		{"MaxQueue beyond 32 bits", "b", bulkhead.Config{MaxQueue: math.MaxInt32 + 1}, "MaxQueue"},
		{"negative MaxWait", "b", bulkhead.Config{MaxQueue: 1, MaxWait: -time.Second}, "MaxWait"},
		{"MaxWait without a queue", "b", bulkhead.Config{MaxWait: time.Second}, "MaxWait"},
		{"negative MinLimit", "b", bulkhead.Config{Adaptive: &bulkhead.Adaptive{MinLimit: -1}}, "Adaptive.MinLimit"},
		{"MinLimit above the ceiling", "b", bulkhead.Config{MaxConcurrent: 5, Adaptive: &bulkhead.Adaptive{MinLimit: 6}}, "Adaptive.MinLimit"},
		{"MinLimit above the default ceiling", "b", bulkhead.Config{Adaptive: &bulkhead.Adaptive{MinLimit: bulkhead.DefaultMaxConcurrent + 1}}, "Adaptive.MinLimit"},
		{"InitialLimit above the ceiling", "b", bulkhead.Config{MaxConcurrent: 5, Adaptive: &bulkhead.Adaptive{InitialLimit: 6}}, "Adaptive.InitialLimit"},
		{"InitialLimit below the floor", "b", bulkhead.Config{MaxConcurrent: 5, Adaptive: &bulkhead.Adaptive{MinLimit: 3, InitialLimit: 2}}, "Adaptive.InitialLimit"},
		{"negative InitialLimit", "b", bulkhead.Config{Adaptive: &bulkhead.Adaptive{InitialLimit: -1}}, "Adaptive.InitialLimit"},
		{"negative Window", "b", bulkhead.Config{Adaptive: &bulkhead.Adaptive{Window: -time.Second}}, "Adaptive.Window"},
		{"negative MinSamples", "b", bulkhead.Config{Adaptive: &bulkhead.Adaptive{MinSamples: -1}}, "Adaptive.MinSamples"},
		{"Tolerance below 1", "b", bulkhead.Config{Adaptive: &bulkhead.Adaptive{Tolerance: 0.9}}, "Adaptive.Tolerance"},
		{"Tolerance NaN", "b", bulkhead.Config{Adaptive: &bulkhead.Adaptive{Tolerance: math.NaN()}}, "Adaptive.Tolerance"},
		{"Tolerance infinite", "b", bulkhead.Config{Adaptive: &bulkhead.Adaptive{Tolerance: math.Inf(1)}}, "Adaptive.Tolerance"},
		{"negative Smoothing", "b", bulkhead.Config{Adaptive: &bulkhead.Adaptive{Smoothing: -0.1}}, "Adaptive.Smoothing"},
		{"Smoothing above 1", "b", bulkhead.Config{Adaptive: &bulkhead.Adaptive{Smoothing: 1.5}}, "Adaptive.Smoothing"},
		{"Smoothing NaN", "b", bulkhead.Config{Adaptive: &bulkhead.Adaptive{Smoothing: math.NaN()}}, "Adaptive.Smoothing"},
		{"negative BaselineWindows", "b", bulkhead.Config{Adaptive: &bulkhead.Adaptive{BaselineWindows: -1}}, "Adaptive.BaselineWindows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := bulkhead.New(tt.bname, tt.cfg)
			if err == nil {
				t.Fatalf("New(%q, %+v) = %v, nil; want an error", tt.bname, tt.cfg, b)
			}
			if !errors.Is(err, bulkhead.ErrInvalidConfig) {
				t.Errorf("error %q does not match ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name the field %s", err, tt.field)
			}
			if b != nil {
				t.Errorf("New returned a bulkhead with its error")
			}
		})
	}
}

func TestZeroConfigDefaults(t *testing.T) {
	b, err := bulkhead.New("zero", bulkhead.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := b.Config()
	if cfg.MaxConcurrent != bulkhead.DefaultMaxConcurrent || cfg.MaxQueue != 0 || cfg.MaxWait != 0 || cfg.Adaptive != nil {
		t.Errorf("Config() = %+v, want MaxConcurrent %d and the rest zero", cfg, bulkhead.DefaultMaxConcurrent)
	}
	for i := range bulkhead.DefaultMaxConcurrent {
		if !b.TryAcquire() {
			t.Fatalf("permit %d refused; a zero Config admits %d", i+1, bulkhead.DefaultMaxConcurrent)
		}
	}
	if b.TryAcquire() {
		t.Errorf("permit %d granted; a zero Config admits %d", bulkhead.DefaultMaxConcurrent+1, bulkhead.DefaultMaxConcurrent)
	}
}

func TestAdaptiveDefaults(t *testing.T) {
	b, err := bulkhead.New("adaptive", bulkhead.Config{MaxConcurrent: 30, Adaptive: &bulkhead.Adaptive{}})
	if err != nil {
		t.Fatal(err)
	}
	want := bulkhead.Adaptive{
		MinLimit: 1, InitialLimit: 30, Window: time.Second, MinSamples: 10,
		Tolerance: 1.5, Smoothing: 0.2, BaselineWindows: 100,
	}
	if got := *b.Config().Adaptive; got != want {
		t.Errorf("Config().Adaptive = %+v, want %+v", got, want)
	}
	if got := b.Stats().Limit; got != 30 {
		t.Errorf("initial limit %d, want the ceiling, 30", got)
	}
}

func TestConfigIsCopied(t *testing.T) {
	a := &bulkhead.Adaptive{InitialLimit: 4}
	b, err := bulkhead.New("copy", bulkhead.Config{MaxConcurrent: 8, Adaptive: a})
	if err != nil {
		t.Fatal(err)
	}
	a.InitialLimit = 6
	b.Config().Adaptive.MinLimit = 7
	if got := b.Config().Adaptive; got.InitialLimit != 4 || got.MinLimit != 1 {
		t.Errorf("Config().Adaptive = %+v after the caller changed its copies; want InitialLimit 4, MinLimit 1", got)
	}
	if got := b.Stats().Limit; got != 4 {
		t.Errorf("limit %d, want InitialLimit 4", got)
	}
}
