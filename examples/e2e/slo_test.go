//go:build e2e

package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/resilience/examples/internal/demoapp"
	"github.com/aragora/resilience/otelhooks"
	"github.com/aragora/resilience/slo"
)

// The demo service's availability objective, as the rules that
// scripts/backends.sh loads name it.
const (
	sloGroup = "resilience-slo-resilience-demo-upstream-availability"
	sloID    = "resilience-demo-upstream-availability"
)

// TestSLOAlertInPrometheus runs the demo service where Prometheus scrapes it,
// takes its upstream down, and watches the page alert of the generated SLO
// rules go pending, then firing, in the real Prometheus, and resolve once the
// upstream is back. The demo's objective lasts 12 hours, so its alert
// windows are a sixtieth of the workbook's (the page reads 1m and 5s, or 6m
// and 30s): the alert fires within seconds and resolves about 30s after the
// outage, when the outage leaves the 30s window. While the upstream is down,
// every query of the Grafana dashboard must return data.
func TestSLOAlertInPrometheus(t *testing.T) {
	requirePrometheus(t)
	eventually(t, 10*time.Second, "Prometheus has loaded the SLO rules", func(ctx context.Context) error {
		return hasRuleGroup(ctx, sloGroup)
	})

	mux := http.NewServeMux()
	shutdown, err := otelhooks.Setup(context.Background(), otelhooks.WithServiceName(demoapp.ServiceName), otelhooks.WithServeMux(mux))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, shutdown(context.Background())) })
	up := demoapp.NewUpstream(demoapp.UpstreamConfig{})
	svc, err := demoapp.New(demoapp.DefaultConfig(), up, nil)
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	require.NoError(t, svc.Start(context.Background())) // the health checks, for the dashboard's panel
	svc.Register(mux)
	lis, err := net.Listen("tcp", metricsAddr)
	require.NoError(t, err, "cannot serve /metrics where Prometheus scrapes it (is another end-to-end run going on?)")
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })

	// Load: 40 calls a second through the demo's HTTP endpoint.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { stop(); wg.Wait() })
	wg.Go(func() { load(ctx, "http://"+lis.Addr().String()+"/", 25*time.Millisecond) })

	// A page left by an earlier run must clear first; then Prometheus must
	// see this run's good traffic.
	eventually(t, 60*time.Second, "no page of "+sloID+" is active", func(ctx context.Context) error {
		if st, err := pageState(ctx); err != nil || st != "" {
			return fmt.Errorf("page %q (%v)", st, err)
		}
		return nil
	})
	eventually(t, 20*time.Second, "Prometheus computes the error ratio of good traffic", func(ctx context.Context) error {
		s, err := promQuery(ctx, `slo:sli_error:ratio_rate5m{sloth_id="`+sloID+`"} == 0`)
		if err == nil && len(s) == 0 {
			err = errors.New("no error ratio of 0 yet" + scrapeHealth(ctx))
		}
		return err
	})

	up.SetDown(true)
	down := time.Now()
	seen := watchPage(t, 30*time.Second, "pending", "firing")
	t.Logf("page states after the outage began: %v", seen)
	assert.Equal(t, slo.AlertPage, svc.SLO.Snapshot().Availability.Alert, "the in-process monitor pages too")
	burn, err := promQuery(context.Background(), `slo:current_burn_rate:ratio{sloth_id="`+sloID+`"}`)
	require.NoError(t, err)
	require.Len(t, burn, 1, "the burn rate over the 5m window's sixtieth")
	inProcess, _ := svc.SLO.Snapshot().Availability.BurnRate(5 * time.Second)
	t.Logf("burn rate over 5s: %s in Prometheus, %.1f in the monitor", burn[0].value(), inProcess)

	t.Run("every query of the dashboard returns data during the outage", func(t *testing.T) {
		checkDashboard(t, demoapp.DefaultConfig().Name)
	})

	up.SetDown(false)
	back := time.Now()
	t.Logf("the outage lasted %v", back.Sub(down).Round(time.Millisecond))
	eventually(t, 90*time.Second, "the page resolves after the upstream is back", func(ctx context.Context) error {
		if st, err := pageState(ctx); err != nil || st != "" {
			return fmt.Errorf("page %q (%v)", st, err)
		}
		return nil
	})
	savePictureOutage(t, down, back)
}

// requirePrometheus fails the test, saying how to start it, when Prometheus
// does not answer.
func requirePrometheus(t *testing.T) {
	t.Helper()
	resp, err := client.Get(prometheusURL + "/-/ready")
	if err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		err = fmt.Errorf("status %s", resp.Status)
	}
	t.Fatalf("Prometheus is not running (%v): %s", err, howToStart)
}

// hasRuleGroup returns an error unless Prometheus evaluates the rule group
// named name: GET /api/v1/rules.
func hasRuleGroup(ctx context.Context, name string) error {
	var r struct {
		Data struct {
			Groups []struct {
				Name string `json:"name"`
			} `json:"groups"`
		} `json:"data"`
	}
	if _, err := getJSON(ctx, prometheusURL+"/api/v1/rules", &r); err != nil {
		return err
	}
	var names []string
	for _, g := range r.Data.Groups {
		if g.Name == name {
			return nil
		}
		names = append(names, g.Name)
	}
	return fmt.Errorf("no rule group %q among %q: is it the Prometheus of scripts/backends.sh, started with examples/prometheus/slo-rules.yml?", name, names)
}

// pageState returns the state of the page alert of the demo's availability
// objective ("pending" or "firing"), or "" when it is not active:
// GET /api/v1/alerts.
func pageState(ctx context.Context) (string, error) {
	var r struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if _, err := getJSON(ctx, prometheusURL+"/api/v1/alerts", &r); err != nil {
		return "", err
	}
	for _, a := range r.Data.Alerts {
		l := a.Labels
		if l["alertname"] == slo.AlertName && l[slo.LabelID] == sloID && l[slo.LabelSeverity] == "page" {
			return a.State, nil
		}
	}
	return "", nil
}

// watchPage polls the page's state until it has gone through states, in
// order, and returns the states it saw, each once.
func watchPage(t *testing.T, within time.Duration, states ...string) []string {
	t.Helper()
	var seen []string
	start := time.Now()
	eventually(t, within, fmt.Sprintf("the page goes %v", states), func(ctx context.Context) error {
		st, err := pageState(ctx)
		if err != nil {
			return err
		}
		if st != "" && (len(seen) == 0 || seen[len(seen)-1] != st) {
			seen = append(seen, st)
			t.Logf("page %s after %v", st, time.Since(start).Round(time.Millisecond))
		}
		if len(seen) < len(states) {
			return fmt.Errorf("states so far %v", seen)
		}
		for i, s := range states {
			if seen[i] != s {
				return fmt.Errorf("states %v, want %v", seen, states)
			}
		}
		return nil
	})
	return seen
}

// load calls url every interval until ctx is done.
func load(ctx context.Context, url string, every time.Duration) {
	c := &http.Client{Timeout: 2 * time.Second}
	defer c.CloseIdleConnections()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return
		}
		resp, err := c.Do(req)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}
