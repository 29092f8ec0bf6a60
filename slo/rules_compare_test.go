package slo_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/slo"
)

// minute is one minute of the comparison's traffic script: calls calls, bad
// of them failed, slow of the others slower than the latency threshold.
type minute struct{ calls, bad, slow int }

// compareScript is eight hours of traffic that changes at every scale of
// the windows: a quiet hour, a ramp, an outage, a steady burn, then ten
// minutes on, ten off, with a latency regression in the middle.
func compareScript() []minute {
	const n = 2000
	var s []minute
	for m := range 480 {
		bad := 1 // 0.05%
		switch {
		case m >= 60 && m < 120:
			bad = (m - 60) * 2 // up to 6%
		case m >= 120 && m < 130:
			bad = n // the outage
		case m >= 130 && m < 240:
			bad = 30 // 1.5%
		case m >= 240 && (m/10)%2 == 0:
			bad = 100 // 5%
		case m >= 240:
			bad = 0
		}
		slow := 10 // 0.5% of the successes
		if m >= 200 && m < 290 {
			slow = 300 + m%7*20
		}
		slow = min(slow, n-bad)
		s = append(s, minute{n, bad, slow})
	}
	return s
}

// TestPrometheusRulesAgreeWithMonitor runs one traffic script through a
// Monitor and, as counters sampled every minute, through the generated
// rules in promtool, and checks that the burn rates agree at 16 moments,
// over every window, for both indicators.
//
// How close they must be: Prometheus, with a sample on each end of every
// window (the windows are whole minutes, as are the evaluation times),
// counts exactly the calls of the window. The Monitor counts its oldest
// bucket (1/60 of the window) in proportion to the part of it inside the
// window, which is exact for traffic that is uniform within the bucket,
// and otherwise misplaces at most the calls of the bucket that straddles
// the window's start. With N calls and B bad ones in the window, and n
// calls and b bad ones in the minutes around its start that such a bucket
// may span, the Monitor's share differs by at most (b·N + B·n)/(N·(N−n)):
// that, in burn rate, is each comparison's tolerance, plus 1e-9 for
// floating point. The moments are 25 minutes apart, so that most of them
// fall inside the wider windows' buckets, where the estimate is at work.
func TestPrometheusRulesAgreeWithMonitor(t *testing.T) {
	script := compareScript()
	obj := slo.Objective{Availability: 0.999, Latency: 250 * time.Millisecond, LatencyTarget: 0.99}
	rs := slo.PrometheusSLO{Service: "shop", Name: "compare", Objective: obj}

	// The monitor: the calls of minute m at m−30s, so that each lies
	// strictly between two samples of the counters, taken at whole minutes.
	var moments []int // minutes
	for T := 25; T <= len(script); T += 25 {
		moments = append(moments, T)
	}
	snaps := map[int]slo.Snapshot{}
	synctest.Test(t, func(t *testing.T) {
		m := newMonitor(t, "compare", obj)
		next := 0
		for i, mn := range script {
			time.Sleep(30 * time.Second)
			for c := range mn.calls {
				switch {
				case c < mn.bad:
					m.Record(policy.Failure, time.Millisecond)
				case c < mn.bad+mn.slow:
					m.Record(policy.Success, time.Second)
				default:
					m.Record(policy.Success, time.Millisecond)
				}
			}
			time.Sleep(30 * time.Second)
			if next < len(moments) && moments[next] == i+1 {
				snaps[i+1] = m.Snapshot()
				next++
			}
		}
	})
	require.Len(t, snaps, len(moments))

	// Prometheus: the counters of the execution histogram, cumulative, one
	// sample a minute from 0.
	var success, failure, fast []string
	var cs, cf, cfast int
	success, failure, fast = append(success, "0"), append(failure, "0"), append(fast, "0")
	for _, mn := range script {
		cs += mn.calls - mn.bad
		cf += mn.bad
		cfast += mn.calls - mn.bad - mn.slow
		success = append(success, fmt.Sprint(cs))
		failure = append(failure, fmt.Sprint(cf))
		fast = append(fast, fmt.Sprint(cfast))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "rule_files: [compare.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n")
	for _, s := range []struct{ series, values string }{
		{`resilience_execution_duration_seconds_count{pipeline="compare",outcome="success"}`, strings.Join(success, " ")},
		{`resilience_execution_duration_seconds_count{pipeline="compare",outcome="failure"}`, strings.Join(failure, " ")},
		{`resilience_execution_duration_seconds_bucket{pipeline="compare",outcome="success",le="0.25"}`, strings.Join(fast, " ")},
	} {
		fmt.Fprintf(&b, "      - series: '%s'\n        values: '%s'\n", s.series, s.values)
	}
	b.WriteString("    promql_expr_test:\n")
	names := []string{"5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"}
	checks := 0
	for _, T := range moments {
		s := snaps[T]
		for _, is := range []*slo.IndicatorSnapshot{&s.Availability, s.Latency} {
			id := "shop-compare-" + is.Indicator.String()
			for w, ws := range is.Windows {
				if ws.Calls == 0 {
					// No calls: the Monitor's burn rate is 0, Prometheus's
					// ratio is 0/0, NaN, the one value unequal to itself.
					sel := fmt.Sprintf("slo:sli_error:ratio_rate%s{sloth_id=%q}", names[w], id)
					fmt.Fprintf(&b, "      - expr: 'count(%s != %s)'\n        eval_time: %dm\n        exp_samples: [{labels: '{}', value: 1}]\n", sel, sel, T)
					checks++
					continue
				}
				tol := bound(script, T, ws.Window, is.Indicator)/(1-is.Target) + 1e-9
				fmt.Fprintf(&b, "      - expr: 'abs(slo:sli_error:ratio_rate%s{sloth_id=%q} / %v - %v) <= bool %v'\n", names[w], id, 1-is.Target, ws.BurnRate, tol)
				fmt.Fprintf(&b, "        eval_time: %dm\n", T)
				fmt.Fprintf(&b, "        exp_samples:\n          - labels: '{sloth_id=%q, sloth_service=\"shop\", sloth_slo=%q, sloth_window=%q}'\n            value: 1\n",
					id, "compare-"+is.Indicator.String(), ws.Label)
				checks++
			}
		}
	}
	t.Logf("%d comparisons of burn rates", checks)

	dir := t.TempDir()
	writeRules(t, dir, "compare.yml", rs)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "compare_test.yml"), []byte(b.String()), 0o644))
	runPromtool(t, dir, "test", "rules", "compare_test.yml")
}

// bound is the most by which a Monitor's error share over the window of
// length w ending at minute T may differ from the exact share: see
// TestPrometheusRulesAgreeWithMonitor.
func bound(script []minute, T int, w time.Duration, ind slo.Indicator) float64 {
	wm := int(w / time.Minute)
	bucket := int(math.Ceil(w.Minutes() / 60))
	var N, B, n, b float64
	for m := range script {
		mn := script[m]
		calls, bad := float64(mn.calls), float64(mn.bad)
		if ind == slo.Latency {
			calls, bad = float64(mn.calls-mn.bad), float64(mn.slow)
		}
		at := m + 1 // the minute whose increment these calls are
		if at > T-wm && at <= T {
			N += calls
			B += bad
		}
		if at > T-wm-bucket && at <= T-wm+bucket {
			n += calls
			b += bad
		}
	}
	if N == 0 {
		return 0
	}
	return (b*N + B*n) / (N * math.Max(N-n, 1))
}
