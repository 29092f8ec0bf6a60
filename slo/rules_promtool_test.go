package slo_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aragora/resilience/slo"
)

// promtool returns the path of Prometheus's promtool, from $PROMTOOL or the
// PATH. The rules' tests need it: its absence fails them, never skips them.
func promtool(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PROMTOOL"); p != "" {
		return p
	}
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is needed to check the generated rules and is not on the PATH (%v): install Prometheus (Debian: apt-get install --no-install-recommends prometheus) or set PROMTOOL", err)
	}
	return p
}

// runPromtool runs promtool with args in dir, and fails with its output when
// it fails.
func runPromtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// writeRules writes the rules of slos into dir/name.
func writeRules(t *testing.T, dir, name string, slos ...slo.PrometheusSLO) {
	t.Helper()
	f, err := slo.PrometheusRules(slos...)
	require.NoError(t, err)
	var b bytes.Buffer
	n, err := f.WriteTo(&b)
	require.NoError(t, err)
	require.Equal(t, int64(b.Len()), n, "WriteTo's count")
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644))
}

// The SLOs of the promtool tests in testdata/promtool, by the rule file they
// are written to: their names and pipelines are those of the tests' input
// series.
var promtoolSLOs = map[string][]slo.PrometheusSLO{
	// 30-day objectives: the SRE workbook's windows as they are.
	"checkout.yml": {{Service: "shop", Name: "checkout", Objective: slo.Objective{Availability: 0.999}}},
	"search.yml":   {{Service: "shop", Name: "search", Objective: slo.Objective{Availability: 0.999, Latency: 250 * time.Millisecond, LatencyTarget: 0.99}}},
	// Two objectives on one quiet pipeline, with and without a minimum.
	"reports.yml": {
		{Service: "shop", Name: "quiet", Pipeline: "reports", Objective: slo.Objective{Availability: 0.999, AlertMinCalls: 500}},
		{Service: "shop", Name: "quiet-strict", Pipeline: "reports", Objective: slo.Objective{Availability: 0.999}},
	},
	// A threshold that the two exposition formats write differently: 1 and 1.0.
	"batch.yml": {{Service: "shop", Name: "batch", Objective: slo.Objective{Availability: 0.99, Latency: time.Second, LatencyTarget: 0.99}}},
	// A 12-hour objective: every window is a sixtieth of the workbook's.
	"cart.yml": {{Service: "shop", Name: "cart", Objective: slo.Objective{Availability: 0.999, Window: 12 * time.Hour}}},
}

// TestPrometheusRulesPromtool generates the rules of the SLOs above, checks
// them with promtool check rules, and runs the unit tests of
// testdata/promtool with promtool test rules: input series of scripted
// traffic, and the alerts expected at the times the SRE workbook gives.
func TestPrometheusRulesPromtool(t *testing.T) {
	dir := t.TempDir()
	args := []string{"check", "rules"}
	for name, slos := range promtoolSLOs {
		writeRules(t, dir, name, slos...)
		args = append(args, name)
	}
	out := runPromtool(t, dir, args...)
	t.Logf("promtool check rules:\n%s", out)

	tests, err := filepath.Glob("testdata/promtool/*.yml")
	require.NoError(t, err)
	require.NotEmpty(t, tests, "the promtool tests of testdata/promtool")
	for _, file := range tests {
		t.Run(filepath.Base(file), func(t *testing.T) {
			body, err := os.ReadFile(file)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(file)), body, 0o644))
			out := runPromtool(t, dir, "test", "rules", filepath.Base(file))
			t.Logf("promtool test rules %s:\n%s", file, out)
		})
	}
}
