// Package deploy holds no code: its files run the demo's backends elsewhere
// (compose.yml: Jaeger with its UI, Prometheus with the SLO rules, Grafana
// with the dashboard), and its tests check that those files, the rules of
// examples/prometheus and the dashboard of dashboards/ fit together.
package deploy
