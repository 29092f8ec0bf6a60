//go:build e2e

package e2e_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aragora/resilience/examples/internal/pictures"
)

// picturesDir is where the tests save what the README's pictures are drawn
// from (make pictures sets it); empty: nowhere.
var picturesDir = os.Getenv("E2E_PICTURES_DIR")

// savePictureTrace saves a trace read back from Jaeger, for its waterfall.
func savePictureTrace(t *testing.T, tr jaegerTrace) {
	t.Helper()
	if picturesDir == "" {
		return
	}
	start := tr.Spans[0].StartTime
	for _, s := range tr.Spans {
		start = min(start, s.StartTime)
	}
	ms := func(us int64) float64 { return float64(us-start) / 1000 }
	out := pictures.Trace{TraceID: tr.TraceID}
	for _, s := range tr.Spans {
		_, isErr := s.tag("error")
		ps := pictures.Span{ID: s.SpanID, Parent: s.parent(), Name: s.OperationName,
			Start: ms(s.StartTime), Duration: float64(s.Duration) / 1000, Error: isErr, Note: note(s)}
		for _, l := range s.Logs {
			for _, f := range l.Fields {
				if f.Key == "event" {
					ps.Events = append(ps.Events, pictures.Event{Name: fmt.Sprint(f.Value), At: ms(l.Timestamp)})
				}
			}
		}
		out.Spans = append(out.Spans, ps)
	}
	out.Spans = pictures.SortSpans(out.Spans)
	require.NoError(t, pictures.Save(filepath.Join(picturesDir, pictures.TraceFile), out))
}

// note is what the picture shows after a span's name: an attempt's number,
// and whether it was a hedge, as the tags resilience.attempt and
// resilience.hedge say; otherwise its HTTP status code, if it has one.
func note(s jaegerSpan) string {
	if n, ok := s.tag("resilience.attempt"); ok {
		out := fmt.Sprintf("#%v", n)
		if h, _ := s.tag("resilience.hedge"); h == true {
			out += " (hedge)"
		}
		return out
	}
	if code, ok := s.tag("http.response.status_code"); ok {
		return fmt.Sprint(code)
	}
	return ""
}

// savePictureOutage saves what Prometheus recorded from 15s before the
// outage to now: the breaker's state, the page's burn rates from the rules
// and from the in-process monitor, and when the page fired.
func savePictureOutage(t *testing.T, down, back time.Time) {
	t.Helper()
	if picturesDir == "" {
		return
	}
	from, to := down.Add(-15*time.Second), time.Now()
	rel := func(ts float64) float64 { return ts - float64(down.UnixNano())/1e9 }
	get := func(name, q string) pictures.Series {
		s, err := promQueryRange(context.Background(), q, from, to)
		require.NoError(t, err)
		require.Len(t, s, 1, "%s", q)
		out := pictures.Series{Name: name}
		for _, p := range s[0] {
			out.Points = append(out.Points, pictures.Point{T: rel(p.T), V: p.V})
		}
		return out
	}
	budget := `/ on (sloth_id) group_left slo:error_budget:ratio{sloth_id="` + sloID + `"}`
	o := pictures.Outage{
		End: back.Sub(down).Seconds(),
		Breaker: get("breaker", `max by (breaker) (resilience_breaker_state{breaker="upstream", state="half-open"} * 1 `+
			`or resilience_breaker_state{breaker="upstream", state="open"} * 2 or resilience_breaker_state{breaker="upstream", state="closed"} * 0)`),
		Burn: []pictures.Series{
			get("Prometheus rules, 5s window (the workbook's 5m)", `slo:sli_error:ratio_rate5m{sloth_id="`+sloID+`"} `+budget),
			get("in-process monitor, 5s window", `resilience_slo_burn_rate_ratio{slo="upstream", objective="availability", window="5s"}`),
			get("Prometheus rules, 1m window (the workbook's 1h)", `slo:sli_error:ratio_rate1h{sloth_id="`+sloID+`"} `+budget),
			get("in-process monitor, 1m window", `resilience_slo_burn_rate_ratio{slo="upstream", objective="availability", window="1m"}`),
		},
	}
	firing, err := promQueryRange(context.Background(), `ALERTS{alertname="SLOErrorBudgetBurn", sloth_id="`+sloID+`", severity="page", alertstate="firing"}`, from, to)
	require.NoError(t, err)
	for _, s := range firing {
		for i, p := range s {
			if i == 0 || p.T-s[i-1].T > 1.5 {
				o.Page = append(o.Page, pictures.Range{From: rel(p.T), To: rel(p.T)})
			}
			o.Page[len(o.Page)-1].To = rel(p.T)
		}
	}
	require.NoError(t, pictures.Save(filepath.Join(picturesDir, pictures.OutageFile), o))
}

// rangePoint is one sample of a range query.
type rangePoint struct{ T, V float64 }

// promQueryRange evaluates q every second from start to end:
// GET /api/v1/query_range.
func promQueryRange(ctx context.Context, q string, start, end time.Time) ([][]rangePoint, error) {
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	u := fmt.Sprintf("%s/api/v1/query_range?query=%s&start=%.3f&end=%.3f&step=1", prometheusURL, url.QueryEscape(q),
		float64(start.UnixMilli())/1000, float64(end.UnixMilli())/1000)
	if _, err := getJSON(ctx, u, &r); err != nil {
		return nil, err
	}
	var out [][]rangePoint
	for _, s := range r.Data.Result {
		var pts []rangePoint
		for _, v := range s.Values {
			ts, _ := v[0].(float64)
			str, _ := v[1].(string)
			f, err := strconv.ParseFloat(str, 64)
			if err != nil {
				return nil, err
			}
			pts = append(pts, rangePoint{ts, f})
		}
		out = append(out, pts)
	}
	return out, nil
}
