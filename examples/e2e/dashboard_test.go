//go:build e2e

package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// dashboardFile is the Grafana dashboard the repository ships.
const dashboardFile = "../../dashboards/resilience.json"

// dashboardQuery is one target of one panel.
type dashboardQuery struct {
	panel, refID, expr string
}

// dashboardQueries reads every target's expr from the dashboard, rows'
// panels included.
func dashboardQueries(t *testing.T) []dashboardQuery {
	t.Helper()
	body, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	type panel struct {
		Title   string  `json:"title"`
		Panels  []panel `json:"panels"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	}
	var d struct {
		Panels []panel `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(body, &d))
	var qs []dashboardQuery
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				qs = append(qs, dashboardQuery{p.Title, tg.RefID, tg.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	require.NotEmpty(t, qs, "the dashboard's queries")
	return qs
}

// substitute replaces the dashboard's variables as Grafana would for the
// given pipeline, with a rate interval that holds several of the backends'
// 1s scrapes.
func substitute(t *testing.T, expr, pipeline string) string {
	t.Helper()
	r := strings.NewReplacer("$pipeline", regexp.QuoteMeta(pipeline), "$__rate_interval", "10s")
	out := r.Replace(expr)
	if i := strings.Index(out, "$"); i >= 0 {
		t.Fatalf("query %q uses a variable the test does not know: %.20s", expr, out[i:])
	}
	return out
}

// checkDashboard evaluates every query of the dashboard against the real
// Prometheus, and fails naming each one that does not parse or returns no
// data within a few scrapes.
func checkDashboard(t *testing.T, pipeline string) {
	queries := dashboardQueries(t)
	pending := map[int]string{}
	for i := range queries {
		pending[i] = "not run"
	}
	eventually(t, 20*time.Second, fmt.Sprintf("all %d queries of %s return data", len(queries), dashboardFile), func(ctx context.Context) error {
		for i := range pending {
			q := queries[i]
			samples, err := promQuery(ctx, substitute(t, q.expr, pipeline))
			switch {
			case err != nil:
				pending[i] = err.Error()
			case len(samples) == 0:
				pending[i] = "no data"
			default:
				delete(pending, i)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		var b strings.Builder
		for i, why := range pending {
			fmt.Fprintf(&b, "\n  panel %q, query %s: %s: %s", queries[i].panel, queries[i].refID, why, queries[i].expr)
		}
		return fmt.Errorf("%d queries fail:%s", len(pending), b.String())
	})
}
