package slo_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/aragora/resilience/slo"
)

func ExamplePrometheusRules() {
	f, err := slo.PrometheusRules(slo.PrometheusSLO{
		Service:   "shop",
		Name:      "checkout", // the pipeline's name too
		Objective: slo.Objective{Availability: 0.999, Latency: 250 * time.Millisecond},
	})
	if err != nil {
		panic(err)
	}
	for _, g := range f.Groups {
		var names []string
		for _, r := range g.Rules {
			names = append(names, r.Record+r.Alert)
		}
		fmt.Printf("%s: %d rules\n  %s\n", g.Name, len(g.Rules), strings.Join(names[:3], ", "))
	}
	fmt.Println(f.Groups[0].Rules[0].Expr)
	// The rule file Prometheus loads: f.WriteTo(file).
	var b strings.Builder
	_, _ = f.WriteTo(&b)
	fmt.Println(strings.Join(strings.Split(b.String(), "\n")[1:5], "\n"))

	// A threshold the histogram cannot express is refused.
	_, err = slo.PrometheusRules(slo.PrometheusSLO{Service: "shop", Name: "search", Objective: slo.Objective{Latency: 300 * time.Millisecond}})
	fmt.Println(err)
	// Output:
	// resilience-slo-shop-checkout-availability: 16 rules
	//   slo:sli_error:ratio_rate5m, slo:sli_error:ratio_rate30m, slo:sli_error:ratio_rate1h
	// resilience-slo-shop-checkout-latency: 16 rules
	//   slo:sli_error:ratio_rate5m, slo:sli_error:ratio_rate30m, slo:sli_error:ratio_rate1h
	// (sum(rate(resilience_execution_duration_seconds_count{pipeline="checkout", outcome!="success"}[5m])) or vector(0))
	// /
	// sum(rate(resilience_execution_duration_seconds_count{pipeline="checkout"}[5m]))
	// groups:
	//   - name: "resilience-slo-shop-checkout-availability"
	//     rules:
	//       - record: "slo:sli_error:ratio_rate5m"
	// slo: invalid configuration: slo "search": Objective.Latency is 300ms, which is no bucket boundary of the execution histogram (the nearest are 250ms and 500ms); choose a boundary, or add it to the histogram with a view and to Buckets
}
