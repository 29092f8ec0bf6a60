package slo_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/resilience/slo"
)

func TestNewRejectsBadConfigNamingTheField(t *testing.T) {
	tests := []struct {
		name  string
		slo   string
		obj   slo.Objective
		field string
	}{
		{"empty name", "", slo.Objective{}, "name"},
		{"availability of 1 leaves no budget", "api", slo.Objective{Availability: 1}, "Objective.Availability"},
		{"availability above 1", "api", slo.Objective{Availability: 1.5}, "Objective.Availability"},
		{"negative availability", "api", slo.Objective{Availability: -0.9}, "Objective.Availability"},
		{"availability NaN", "api", slo.Objective{Availability: math.NaN()}, "Objective.Availability"},
		{"negative latency", "api", slo.Objective{Latency: -time.Second}, "Objective.Latency"},
		{"latency target without a threshold", "api", slo.Objective{LatencyTarget: 0.99}, "Objective.LatencyTarget"},
		{"latency target of 1", "api", slo.Objective{Latency: time.Second, LatencyTarget: 1}, "Objective.LatencyTarget"},
		{"latency target negative", "api", slo.Objective{Latency: time.Second, LatencyTarget: -0.5}, "Objective.LatencyTarget"},
		{"negative window", "api", slo.Objective{Window: -time.Hour}, "Objective.Window"},
		{"window under an hour", "api", slo.Objective{Window: time.Minute}, "Objective.Window"},
		{"negative alert minimum", "api", slo.Objective{AlertMinCalls: -1}, "Objective.AlertMinCalls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := slo.New(tt.slo, tt.obj)
			if err == nil {
				_ = m.Close()
				t.Fatalf("New(%q, %+v) succeeded; want an error naming %s", tt.slo, tt.obj, tt.field)
			}
			if !errors.Is(err, slo.ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name the field %s", err, tt.field)
			}
		})
	}
}

func TestZeroObjectiveMeansThreeNinesOverThirtyDays(t *testing.T) {
	m := newMonitor(t, "api", slo.Objective{})
	got := m.Objective()
	want := slo.Objective{Availability: 0.999, Window: 30 * 24 * time.Hour}
	if got != want {
		t.Errorf("Objective() = %+v, want %+v", got, want)
	}
	if s := m.Snapshot(); s.Latency != nil {
		t.Errorf("Snapshot().Latency = %+v, want nil without a latency threshold", s.Latency)
	}
}

func TestLatencyTargetDefaultsWithAThreshold(t *testing.T) {
	m := newMonitor(t, "api", slo.Objective{Latency: 300 * time.Millisecond})
	if got := m.Objective().LatencyTarget; got != 0.99 {
		t.Errorf("LatencyTarget = %v, want 0.99", got)
	}
	s := m.Snapshot()
	if s.Latency == nil || s.Latency.Threshold != 300*time.Millisecond || s.Latency.Target != 0.99 {
		t.Errorf("Snapshot().Latency = %+v, want target 0.99 within 300ms", s.Latency)
	}
}

func TestWindowsAreTheWorkbooksScaledToTheObjective(t *testing.T) {
	tests := []struct {
		window time.Duration
		want   []time.Duration
		labels []string
	}{
		{
			0,
			[]time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 24 * time.Hour, 72 * time.Hour, 720 * time.Hour},
			[]string{"5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"},
		},
		{
			// A 7-day window keeps each rule's share of the budget: its windows are 7/30 of the workbook's.
			7 * 24 * time.Hour,
			[]time.Duration{70 * time.Second, 7 * time.Minute, 14 * time.Minute, 28 * time.Minute, 84 * time.Minute, 336 * time.Minute, 1008 * time.Minute, 168 * time.Hour},
			[]string{"1m10s", "7m", "14m", "28m", "1h24m", "5h36m", "16h48m", "7d"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.window.String(), func(t *testing.T) {
			m := newMonitor(t, "api", slo.Objective{Window: tt.window})
			got := m.Windows()
			if len(got) != len(tt.want) {
				t.Fatalf("Windows() = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("window %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
			for i, w := range m.Snapshot().Availability.Windows {
				if w.Label != tt.labels[i] {
					t.Errorf("label of window %d = %q, want %q", i, w.Label, tt.labels[i])
				}
			}
		})
	}
}

func TestStringsOfAlertsAndIndicators(t *testing.T) {
	for v, want := range map[interface{ String() string }]string{
		slo.AlertNone: "none", slo.AlertTicket: "ticket", slo.AlertPage: "page", slo.Alert(9): "unknown",
		slo.Availability: "availability", slo.Latency: "latency", slo.Indicator(9): "unknown",
	} {
		if got := v.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", v, got, want)
		}
	}
}

// Any window New accepts, up to the longest Duration, is reported as it is:
// the objective's window last, the scaled alert windows before it, each
// positive and longer than the one before.
func TestAHugeWindowIsReportedAsIs(t *testing.T) {
	for _, window := range []time.Duration{slo.MinWindow, 10000 * 24 * time.Hour, math.MaxInt64 / 2, math.MaxInt64} {
		t.Run(window.String(), func(t *testing.T) {
			m := newMonitor(t, "api", slo.Objective{Window: window})
			require.Equal(t, window, m.Objective().Window)
			s := m.Snapshot()
			assert.Equal(t, window, s.Window, "Snapshot().Window")
			ws := m.Windows()
			assert.Equal(t, window, ws[len(ws)-1], "the last of Windows()")
			for i, w := range s.Availability.Windows {
				assert.Equal(t, ws[i], w.Window, "snapshot window %d", i)
				assert.NotEmpty(t, w.Label)
				assert.NotContains(t, w.Label, "-", "label %d", i)
				if i > 0 {
					assert.Greater(t, w.Window, ws[i-1], "window %d", i)
				} else {
					assert.Positive(t, w.Window)
				}
			}
		})
	}
}

// Durations in messages read as people write them.
func TestWindowErrorRoundsDurationsForPeople(t *testing.T) {
	_, err := slo.New("api", slo.Objective{Window: 90 * time.Second})
	require.ErrorIs(t, err, slo.ErrInvalid)
	assert.EqualError(t, err, "slo: invalid configuration: Objective.Window is 1m30s; want at least 1h, or zero for 30d")
}
