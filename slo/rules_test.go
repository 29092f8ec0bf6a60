package slo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.yaml.in/yaml/v3"
	"pgregory.net/rapid"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/slo"
)

// promRuleFile is the rule file format as Prometheus reads it.
type promRuleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// parseBack writes f and reads it back with a YAML library, failing when
// anything differs from f.
func parseBack(t require.TestingT, f slo.RuleFile) {
	var b bytes.Buffer
	_, err := f.WriteTo(&b)
	require.NoError(t, err)
	var got promRuleFile
	require.NoError(t, yaml.Unmarshal(b.Bytes(), &got), "the rule file:\n%s", b.String())
	require.Len(t, got.Groups, len(f.Groups))
	for i, g := range f.Groups {
		gg := got.Groups[i]
		require.Equal(t, g.Name, gg.Name)
		require.Len(t, gg.Rules, len(g.Rules), "rules of group %q", g.Name)
		for j, r := range g.Rules {
			gr := gg.Rules[j]
			require.Equal(t, r.Record, gr.Record)
			require.Equal(t, r.Alert, gr.Alert)
			require.Equal(t, r.Expr, gr.Expr)
			if r.For > 0 {
				d, err := time.ParseDuration(gr.For)
				require.NoError(t, err)
				require.Equal(t, r.For, d)
			} else {
				require.Empty(t, gr.For)
			}
			require.Equal(t, len(r.Labels), len(gr.Labels))
			for k, v := range r.Labels {
				require.Equal(t, v, gr.Labels[k], "label %q", k)
			}
			require.Equal(t, len(r.Annotations), len(gr.Annotations))
			for k, v := range r.Annotations {
				require.Equal(t, v, gr.Annotations[k], "annotation %q", k)
			}
		}
	}
}

func TestRuleFileParsesBack(t *testing.T) {
	var all []slo.PrometheusSLO
	for _, slos := range promtoolSLOs {
		all = append(all, slos...)
	}
	all = append(all, slo.PrometheusSLO{Service: "shop", Name: "pay", Objective: slo.Objective{Window: 7 * 24 * time.Hour, AlertMinCalls: 3}, AlertFor: 1500 * time.Millisecond})
	f, err := slo.PrometheusRules(all...)
	require.NoError(t, err)
	parseBack(t, f)
}

// Names come from the caller: whatever they hold, the file reads back as
// written, and labels are what the caller gave.
func TestRuleFileParsesBackAnyName(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		name := rapid.StringN(1, 20, -1).Draw(t, "name")
		service := rapid.StringN(1, 20, -1).Draw(t, "service")
		f, err := slo.PrometheusRules(slo.PrometheusSLO{Service: service, Name: name,
			Objective: slo.Objective{Latency: 100 * time.Millisecond}})
		require.NoError(t, err)
		parseBack(t, f)
		for _, r := range f.Groups[0].Rules {
			require.Equal(t, service, r.Labels[slo.LabelService])
			require.Equal(t, name+"-availability", r.Labels[slo.LabelSLO])
		}
	})
}

// Prometheus itself reads names that need escaping, in YAML and in PromQL.
func TestPrometheusRulesOddNamesPromtool(t *testing.T) {
	var slos []slo.PrometheusSLO
	for i, name := range []string{`say "hi"`, `back\slash`, "new\nline", "tab\tand\x7fdel", "é ☃ 🚀", "yes", "- [x]: #{}", " lead", "trail ", "\u2028sep\ufeff"} {
		slos = append(slos, slo.PrometheusSLO{Service: "svc" + strings.Repeat("x", i), Name: name, Pipeline: name,
			Objective: slo.Objective{Latency: 250 * time.Millisecond, AlertMinCalls: 10}, AlertFor: time.Minute})
	}
	f, err := slo.PrometheusRules(slos...)
	require.NoError(t, err)
	parseBack(t, f)
	dir := t.TempDir()
	writeRules(t, dir, "odd.yml", slos...)
	runPromtool(t, dir, "check", "rules", "odd.yml")
}

func TestWriteToEmpty(t *testing.T) {
	f, err := slo.PrometheusRules()
	require.NoError(t, err)
	assert.Empty(t, f.Groups)
	parseBack(t, f)
	dir := t.TempDir()
	writeRules(t, dir, "empty.yml")
	runPromtool(t, dir, "check", "rules", "empty.yml")
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteToWriterError(t *testing.T) {
	f, err := slo.PrometheusRules(slo.PrometheusSLO{Service: "shop", Name: "checkout"})
	require.NoError(t, err)
	n, err := f.WriteTo(failingWriter{})
	assert.EqualError(t, err, "disk full")
	assert.Zero(t, n)
}

func TestPrometheusRulesRefuses(t *testing.T) {
	ok := slo.PrometheusSLO{Service: "shop", Name: "checkout"}
	with := func(f func(*slo.PrometheusSLO)) slo.PrometheusSLO { s := ok; f(&s); return s }
	tests := []struct {
		name string
		slos []slo.PrometheusSLO
		want string
	}{
		{"no service", []slo.PrometheusSLO{with(func(s *slo.PrometheusSLO) { s.Service = "" })}, "Service and Name are required"},
		{"no name", []slo.PrometheusSLO{with(func(s *slo.PrometheusSLO) { s.Name = "" })}, "Service and Name are required"},
		{"not UTF-8", []slo.PrometheusSLO{with(func(s *slo.PrometheusSLO) { s.Pipeline = "\xff" })}, "must be UTF-8"},
		{"bad objective", []slo.PrometheusSLO{with(func(s *slo.PrometheusSLO) { s.Objective.Availability = 1 })}, "Objective.Availability is 1"},
		{"short window", []slo.PrometheusSLO{with(func(s *slo.PrometheusSLO) { s.Objective.Window = time.Minute })}, "Objective.Window is 1m;"},
		{"negative for", []slo.PrometheusSLO{with(func(s *slo.PrometheusSLO) { s.AlertFor = -time.Second })}, "AlertFor is -1s"},
		{"threshold between buckets", []slo.PrometheusSLO{with(func(s *slo.PrometheusSLO) { s.Objective.Latency = 300 * time.Millisecond })},
			"Objective.Latency is 300ms, which is no bucket boundary of the execution histogram (the nearest are 250ms and 500ms)"},
		{"threshold above every bucket", []slo.PrometheusSLO{with(func(s *slo.PrometheusSLO) { s.Objective.Latency = 2 * time.Minute })},
			"(the largest is 1m)"},
		{"threshold below every bucket", []slo.PrometheusSLO{with(func(s *slo.PrometheusSLO) {
			s.Objective.Latency = 50 * time.Millisecond
			s.Buckets = []float64{0.1, 1}
		})}, "(the smallest is 100ms)"},
		{"threshold with no bucket", []slo.PrometheusSLO{with(func(s *slo.PrometheusSLO) {
			s.Objective.Latency = 50 * time.Millisecond
			s.Buckets = []float64{}
		})}, "(no boundary near it)"},
		{"same id twice", []slo.PrometheusSLO{ok, with(func(s *slo.PrometheusSLO) { s.Pipeline = "other" })}, `sloth_id "shop-checkout-availability" is generated twice`},
		{"same id from other names", []slo.PrometheusSLO{
			{Service: "a-b", Name: "c"}, {Service: "a", Name: "b-c"},
		}, `sloth_id "a-b-c-availability" is generated twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := slo.PrometheusRules(tt.slos...)
			require.ErrorIs(t, err, slo.ErrInvalid)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "slo: invalid configuration: "), "message %q", err)
			assert.Empty(t, f.Groups)
		})
	}
}

// A threshold that a view adds to the histogram is accepted once Buckets
// says so.
func TestPrometheusRulesCustomBuckets(t *testing.T) {
	s := slo.PrometheusSLO{Service: "shop", Name: "checkout", Objective: slo.Objective{Latency: 300 * time.Millisecond}}
	_, err := slo.PrometheusRules(s)
	require.ErrorIs(t, err, slo.ErrInvalid)
	s.Buckets = append(slo.DurationBuckets(), 0.3)
	f, err := slo.PrometheusRules(s)
	require.NoError(t, err)
	require.Len(t, f.Groups, 2)
	assert.Contains(t, f.Groups[1].Rules[0].Expr, `le=~"0\\.3"`)
}

// DurationBuckets are the boundaries a pipeline records with: read them from
// the SDK after one execution.
func TestDurationBucketsAreThePipelines(t *testing.T) {
	reader := metric.NewManualReader()
	mp := metric.NewMeterProvider(metric.WithReader(reader))
	defer func() { require.NoError(t, mp.Shutdown(context.Background())) }()
	p := policy.MustNew("buckets").With(policy.WithMeterProvider(mp))
	require.NoError(t, p.Execute(context.Background(), func(context.Context) error { return nil }))

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	var bounds []float64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == policy.MetricExecutionDuration {
				bounds = m.Data.(metricdata.Histogram[float64]).DataPoints[0].Bounds
			}
		}
	}
	require.NotEmpty(t, bounds, "the execution histogram")
	assert.Equal(t, bounds, slo.DurationBuckets())

	// A copy: changing it changes nothing.
	b := slo.DurationBuckets()
	b[0] = 42
	assert.NotEqual(t, b, slo.DurationBuckets())
}

// The windows of the rules are those of a monitor of the same objective, to
// the millisecond.
func TestPrometheusRulesWindowsAreTheMonitors(t *testing.T) {
	for _, w := range []time.Duration{time.Hour, 12 * time.Hour, 7 * 24 * time.Hour, 28 * 24 * time.Hour, 30 * 24 * time.Hour} {
		obj := slo.Objective{Window: w}
		m, err := slo.New("w", obj)
		require.NoError(t, err)
		f, err := slo.PrometheusRules(slo.PrometheusSLO{Service: "s", Name: "w", Objective: obj})
		require.NoError(t, err)
		var got []string
		for _, r := range f.Groups[0].Rules[:8] {
			got = append(got, r.Labels[slo.LabelWindow])
		}
		var want []string
		for _, d := range m.Windows() {
			want = append(want, promDuration(d))
		}
		assert.Equal(t, want, got, "objective window %v", w)
		require.NoError(t, m.Close())
	}
}

// promDuration writes d to the millisecond, as Prometheus reads it.
func promDuration(d time.Duration) string {
	d = d.Round(time.Millisecond)
	var b strings.Builder
	for _, u := range []struct {
		d time.Duration
		s string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.s)
			d -= n * u.d
		}
	}
	return b.String()
}

// An objective of one day names its period's rule like the workbook's 1d
// window (which lasts 48m for it): sloth_window tells them apart, in the
// rules and in every selector that reads them.
func TestPrometheusRulesPeriodNamedLikeAWindow(t *testing.T) {
	s := slo.PrometheusSLO{Service: "shop", Name: "daily", Objective: slo.Objective{Window: 24 * time.Hour}}
	f, err := slo.PrometheusRules(s)
	require.NoError(t, err)
	var windows []string
	for _, r := range f.Groups[0].Rules {
		if r.Record == "slo:sli_error:ratio_rate1d" {
			windows = append(windows, r.Labels[slo.LabelWindow])
		}
		if strings.Contains(r.Expr, "slo:sli_error:ratio_rate1d{") {
			assert.Regexp(t, `slo:sli_error:ratio_rate1d\{[^}]*sloth_window="(48m|1d)"\}`, r.Expr, "rule %s%s", r.Record, r.Alert)
		}
	}
	assert.Equal(t, []string{"48m", "1d"}, windows)
	dir := t.TempDir()
	writeRules(t, dir, "daily.yml", s)
	runPromtool(t, dir, "check", "rules", "daily.yml")
}
