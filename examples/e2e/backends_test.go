//go:build e2e

package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"
)

// The addresses of scripts/backends.sh. Environment variables may move them.
var (
	jaegerURL     = env("E2E_JAEGER_URL", "http://127.0.0.1:16686")
	jaegerHealth  = env("E2E_JAEGER_HEALTH_URL", "http://127.0.0.1:13133/status")
	otlpEndpoint  = env("E2E_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	prometheusURL = env("E2E_PROMETHEUS_URL", "http://127.0.0.1:9090")
	metricsAddr   = env("E2E_METRICS_ADDR", "127.0.0.1:9464") // the target Prometheus scrapes
)

const howToStart = "start the backends with `make backends-up` (or run `make test`, which starts and stops them)"

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

var client = &http.Client{Timeout: 5 * time.Second}

func init() { afterTests = append(afterTests, client.CloseIdleConnections) }

// requireBackends fails the test, saying how to start them, when Jaeger or
// Prometheus does not answer.
func requireBackends(t *testing.T) {
	t.Helper()
	for _, b := range []struct{ name, url string }{
		{"Jaeger", jaegerHealth},
		{"Prometheus", prometheusURL + "/-/ready"},
	} {
		resp, err := client.Get(b.url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				continue
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		t.Fatalf("%s is not running (%s: %v): %s", b.name, b.url, err, howToStart)
	}
}

// getJSON GETs u and decodes its JSON body into v. A status other than 200 is
// an error that carries the body.
func getJSON(ctx context.Context, u string, v any) (status int, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("GET %s: %s: %.300s", u, resp.Status, body)
	}
	return resp.StatusCode, json.Unmarshal(body, v)
}

// eventually calls check every interval until it returns nil or the deadline
// passes, and then fails the test with check's last error. Backends make data
// visible some time after it is sent (Jaeger batches, Prometheus scrapes every
// second): poll for it, never sleep a guessed time.
func eventually(t *testing.T, within time.Duration, what string, check func(ctx context.Context) error) {
	t.Helper()
	const interval = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	start := time.Now()
	for {
		err := check(ctx)
		if err == nil {
			t.Logf("%s: after %v", what, time.Since(start).Round(time.Millisecond))
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not so after %v: %v", what, within, err)
		case <-time.After(interval):
		}
	}
}

// Jaeger's query API v1: GET /api/traces/{id}.
type jaegerTrace struct {
	TraceID string       `json:"traceID"`
	Spans   []jaegerSpan `json:"spans"`
}

type jaegerSpan struct {
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	StartTime     int64  `json:"startTime"` // µs since the epoch
	Duration      int64  `json:"duration"`  // µs
	References    []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	Tags []jaegerKV `json:"tags"`
	Logs []struct {
		Timestamp int64      `json:"timestamp"` // µs since the epoch
		Fields    []jaegerKV `json:"fields"`
	} `json:"logs"`
}

type jaegerKV struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

func (s jaegerSpan) tag(key string) (any, bool) {
	for _, kv := range s.Tags {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

func (s jaegerSpan) parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// events returns the span's events (Jaeger's logs) as maps of their fields,
// the event's name under "event".
func (s jaegerSpan) events() []map[string]any {
	var out []map[string]any
	for _, l := range s.Logs {
		m := map[string]any{}
		for _, f := range l.Fields {
			m[f.Key] = f.Value
		}
		out = append(out, m)
	}
	return out
}

// getTrace returns the trace, or an error while Jaeger does not have it
// (yet), or has fewer than minSpans of its spans.
func getTrace(ctx context.Context, traceID string, minSpans int) (jaegerTrace, error) {
	var r struct {
		Data []jaegerTrace `json:"data"`
	}
	if _, err := getJSON(ctx, jaegerURL+"/api/traces/"+traceID, &r); err != nil {
		return jaegerTrace{}, err
	}
	if len(r.Data) != 1 {
		return jaegerTrace{}, fmt.Errorf("trace %s: %d traces in the answer", traceID, len(r.Data))
	}
	if n := len(r.Data[0].Spans); n < minSpans {
		return jaegerTrace{}, fmt.Errorf("trace %s: %d spans so far, want %d", traceID, n, minSpans)
	}
	return r.Data[0], nil
}

// Prometheus's HTTP API: GET /api/v1/query for an instant vector.
type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"` // [time, "value"]
}

func (s promSample) value() string { v, _ := s.Value[1].(string); return v }

func promQuery(ctx context.Context, q string) ([]promSample, error) {
	var r struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string       `json:"resultType"`
			Result     []promSample `json:"result"`
		} `json:"data"`
	}
	if _, err := getJSON(ctx, prometheusURL+"/api/v1/query?query="+url.QueryEscape(q), &r); err != nil {
		return nil, err
	}
	if r.Status != "success" || r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: status %s, result type %s", q, r.Status, r.Data.ResultType)
	}
	return r.Data.Result, nil
}

// promExemplars returns the exemplars of the series q selects, over the last
// ten minutes: GET /api/v1/query_exemplars.
func promExemplars(ctx context.Context, q string) ([]map[string]string, error) {
	var r struct {
		Status string `json:"status"`
		Data   []struct {
			SeriesLabels map[string]string `json:"seriesLabels"`
			Exemplars    []struct {
				Labels map[string]string `json:"labels"`
				Value  string            `json:"value"`
			} `json:"exemplars"`
		} `json:"data"`
	}
	now := time.Now()
	u := fmt.Sprintf("%s/api/v1/query_exemplars?query=%s&start=%d&end=%d", prometheusURL, url.QueryEscape(q),
		now.Add(-10*time.Minute).Unix(), now.Add(time.Minute).Unix())
	if _, err := getJSON(ctx, u, &r); err != nil {
		return nil, err
	}
	var out []map[string]string
	for _, series := range r.Data {
		for _, e := range series.Exemplars {
			out = append(out, e.Labels)
		}
	}
	return out, nil
}
