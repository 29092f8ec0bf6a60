package otelhooks_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/bulkhead"
	"github.com/aragora/resilience/health"
	"github.com/aragora/resilience/otelhooks"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/slo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Prometheus names, types and labels of the library's own instruments,
// exactly as Setup's exporter serves them: the metrics table of
// ARCHITECTURE.md and the README. A renamed instrument, a unit that changes
// a suffix, or an attribute added or dropped fails here.
func TestLibraryMetricsPrometheusNames(t *testing.T) {
	mux := http.NewServeMux()
	setup(t, otelhooks.WithServeMux(mux))
	ctx := context.Background()

	brk, err := breaker.New("db", breaker.Config{})
	require.NoError(t, err)
	bh, err := bulkhead.New("db", bulkhead.Config{})
	require.NoError(t, err)
	mon, err := slo.New("db", slo.Objective{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, mon.Close()) })
	checker, err := health.NewChecker("api", health.Config{})
	require.NoError(t, err)
	t.Cleanup(checker.Stop)
	require.NoError(t, checker.Register("db", func(context.Context) error { return nil }))
	checker.CheckAll(ctx)

	p := policy.MustNew("db", mon, retryOnce{}, brk, bh)
	require.NoError(t, p.Execute(ctx, failFirst))

	text := scrape(t, mux, "text/plain")
	types := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (resilience_\S*) (\S+)$`).FindAllStringSubmatch(text, -1) {
		types[m[1]] = m[2]
	}
	assert.Equal(t, map[string]string{
		"resilience_execution_duration_seconds":       "histogram",
		"resilience_attempt_duration_seconds":         "histogram",
		"resilience_events_total":                     "counter",
		"resilience_breaker_state":                    "gauge",
		"resilience_bulkhead_inflight":                "gauge",
		"resilience_bulkhead_queued":                  "gauge",
		"resilience_bulkhead_limit":                   "gauge",
		"resilience_slo_sli_ratio":                    "gauge",
		"resilience_slo_burn_rate_ratio":              "gauge",
		"resilience_slo_error_budget_remaining_ratio": "gauge",
		"resilience_health_status":                    "gauge",
	}, types)

	// The labels of each family, less those the exporter adds to every one.
	for series, want := range map[string][]string{
		"resilience_execution_duration_seconds_count": {"outcome", "pipeline"},
		"resilience_attempt_duration_seconds_count":   {"outcome", "pipeline"},
		"resilience_events_total":                     {"event", "pipeline", "policy"},
		"resilience_breaker_state":                    {"breaker", "state"},
		"resilience_bulkhead_inflight":                {"bulkhead"},
		"resilience_bulkhead_queued":                  {"bulkhead"},
		"resilience_bulkhead_limit":                   {"bulkhead"},
		"resilience_slo_sli_ratio":                    {"objective", "slo", "window"},
		"resilience_slo_burn_rate_ratio":              {"objective", "slo", "window"},
		"resilience_slo_error_budget_remaining_ratio": {"objective", "slo"},
		"resilience_health_status":                    {"check", "checker", "status"},
	} {
		got, err := labels(text, series)
		if assert.NoError(t, err, series) {
			assert.Equal(t, want, got, series)
		}
	}
}

// labels returns the sorted label names of the first line of series in a
// text scrape, without otel_scope_*.
func labels(text, series string) ([]string, error) {
	m := regexp.MustCompile(`(?m)^` + series + `\{([^}]*)\}`).FindStringSubmatch(text)
	if m == nil {
		return nil, errors.New("no line of " + series)
	}
	var names []string
	for _, kv := range regexp.MustCompile(`(\w+)="`).FindAllStringSubmatch(m[1], -1) {
		if !strings.HasPrefix(kv[1], "otel_scope_") {
			names = append(names, kv[1])
		}
	}
	slices.Sort(names)
	return names, nil
}
