package breaker_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aragora/resilience/breaker"
)

func TestNewRejectsInvalidConfigNamingTheField(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   breaker.Config
		field string // the message must contain it
	}{
		{"negative FailureThreshold", breaker.Config{FailureThreshold: -1}, "Config.FailureThreshold"},
		{"huge FailureThreshold", breaker.Config{FailureThreshold: 1 << 30}, "Config.FailureThreshold"},
		{"negative SuccessThreshold", breaker.Config{SuccessThreshold: -3}, "Config.SuccessThreshold"},
		{"negative HalfOpenMaxRequests", breaker.Config{HalfOpenMaxRequests: -1}, "Config.HalfOpenMaxRequests"},
		{"negative Cooldown", breaker.Config{Cooldown: -time.Second}, "Config.Cooldown"},
		{"CooldownMultiplier below 1", breaker.Config{CooldownMultiplier: 0.5}, "Config.CooldownMultiplier"},
		{"negative CooldownMultiplier", breaker.Config{CooldownMultiplier: -2}, "Config.CooldownMultiplier"},
		{"NaN CooldownMultiplier", breaker.Config{CooldownMultiplier: math.NaN()}, "Config.CooldownMultiplier"},
		{"infinite CooldownMultiplier", breaker.Config{CooldownMultiplier: math.Inf(1)}, "Config.CooldownMultiplier"},
		{"negative MaxCooldown", breaker.Config{CooldownMultiplier: 2, MaxCooldown: -1}, "Config.MaxCooldown"},
		{"MaxCooldown below Cooldown", breaker.Config{Cooldown: time.Minute, CooldownMultiplier: 2, MaxCooldown: time.Second}, "Config.MaxCooldown"},
		{"empty window", breaker.Config{Window: &breaker.Window{}}, "Config.Window"},
		{"window of both kinds", breaker.Config{Window: &breaker.Window{Size: 10, Duration: time.Second}}, "Config.Window"},
		{"negative window Size", breaker.Config{Window: &breaker.Window{Size: -1}}, "Config.Window.Size"},
		{"negative window Duration", breaker.Config{Window: &breaker.Window{Duration: -time.Second}}, "Config.Window.Duration"},
		{"Buckets on a count window", breaker.Config{Window: &breaker.Window{Size: 10, Buckets: 2}}, "Config.Window.Buckets"},
		{"negative Buckets", breaker.Config{Window: &breaker.Window{Duration: time.Second, Buckets: -1}}, "Config.Window.Buckets"},
		{"Buckets finer than a nanosecond", breaker.Config{Window: &breaker.Window{Duration: 5, Buckets: 10}}, "Config.Window.Buckets"},
		{"failure rate above 1", breaker.Config{Window: &breaker.Window{Size: 10, FailureRateThreshold: 1.5}}, "Config.Window.FailureRateThreshold"},
		{"negative failure rate", breaker.Config{Window: &breaker.Window{Size: 10, FailureRateThreshold: -0.1}}, "Config.Window.FailureRateThreshold"},
		{"NaN failure rate", breaker.Config{Window: &breaker.Window{Size: 10, FailureRateThreshold: math.NaN()}}, "Config.Window.FailureRateThreshold"},
		{"slow rate above 1", breaker.Config{Window: &breaker.Window{Size: 10, SlowCallDuration: time.Second, SlowCallRateThreshold: 2}}, "Config.Window.SlowCallRateThreshold"},
		{"slow rate without a duration", breaker.Config{Window: &breaker.Window{Size: 10, SlowCallRateThreshold: 0.5}}, "Config.Window.SlowCallRateThreshold"},
		{"negative SlowCallDuration", breaker.Config{Window: &breaker.Window{Size: 10, SlowCallDuration: -1}}, "Config.Window.SlowCallDuration"},
		{"negative MinimumCalls", breaker.Config{Window: &breaker.Window{Size: 10, MinimumCalls: -1}}, "Config.Window.MinimumCalls"},
		{"MinimumCalls above Size", breaker.Config{Window: &breaker.Window{Size: 10, MinimumCalls: 11}}, "Config.Window.MinimumCalls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := breaker.New("svc", tc.cfg)
			if err == nil || b != nil {
				t.Fatalf("New = %v, %v; want an error", b, err)
			}
			if !errors.Is(err, breaker.ErrInvalidConfig) {
				t.Fatalf("error %v does not match ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tc.field+" ") || !strings.Contains(err.Error(), `"svc"`) {
				t.Fatalf("error %q names neither %s nor the breaker", err, tc.field)
			}
		})
	}
}

func TestNewRejectsAnEmptyName(t *testing.T) {
	if _, err := breaker.New("", breaker.Config{}); !errors.Is(err, breaker.ErrInvalidConfig) || !strings.Contains(err.Error(), "name") {
		t.Fatalf("New(\"\") error = %v; want ErrInvalidConfig about the name", err)
	}
}

func TestNewAcceptsBoundaryValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  breaker.Config
	}{
		{"zero", breaker.Config{}},
		{"rates of exactly 1", breaker.Config{Window: &breaker.Window{Size: 1, FailureRateThreshold: 1, SlowCallDuration: 1, SlowCallRateThreshold: 1}}},
		{"MinimumCalls equal to Size", breaker.Config{Window: &breaker.Window{Size: 7, MinimumCalls: 7}}},
		{"CooldownMultiplier of 1", breaker.Config{CooldownMultiplier: 1}},
		{"MaxCooldown equal to Cooldown", breaker.Config{Cooldown: time.Second, CooldownMultiplier: 3, MaxCooldown: time.Second}},
		{"one-nanosecond buckets", breaker.Config{Window: &breaker.Window{Duration: 10, Buckets: 10}}},
		{"longest Cooldown", breaker.Config{Cooldown: math.MaxInt64, CooldownMultiplier: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := breaker.New("svc", tc.cfg); err != nil {
				t.Fatalf("New: %v", err)
			}
		})
	}
}
