#!/usr/bin/env bash
# Starts and stops the telemetry backends of the demo and the end-to-end
# tests: Jaeger (traces, OTLP in) and Prometheus (metrics, scraping the demo
# and the tests). Both bind 127.0.0.1 only, keep their data in memory or in a
# temporary directory, and are stopped by the PIDs this script recorded.
#
# Prometheus evaluates the demo's SLO rules (examples/prometheus/slo-rules.yml)
# every second.
#
#   scripts/backends.sh up       start what is not running yet, wait until ready
#   scripts/backends.sh down     stop what "up" started (and nothing else)
#   scripts/backends.sh status   say what answers on the ports
#
# Environment:
#   JAEGER            the Jaeger binary (make jaeger builds it; default: the cached one)
#   BACKENDS_DIR      where PIDs, logs and the Prometheus config go (default: build/backends)
#   PROMETHEUS        the Prometheus binary (default: prometheus on PATH)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/resilience"
jaeger_version="$(awk '$1 == "github.com/jaegertracing/jaeger" { print $2; exit }' "$root/examples/tools/jaeger/go.mod")"
JAEGER="${JAEGER:-$cache/jaeger-$jaeger_version}"
PROMETHEUS="${PROMETHEUS:-prometheus}"
dir="${BACKENDS_DIR:-$root/build/backends}"

# The fixed addresses everything agrees on (README, demo, e2e tests).
host=127.0.0.1
jaeger_health="http://$host:13133/status"
jaeger_query="http://$host:16686"
prom_url="http://$host:9090"
demo_target="$host:8080" # the demo's /metrics
e2e_target="$host:9464"  # the end-to-end tests' /metrics
prom_job_marker="resilience-e2e"

say() { printf 'backends: %s\n' "$*" >&2; }

ok() { curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null; }

# wait_ready URL SECONDS PIDFILE: poll URL until it answers, the process dies,
# or the deadline passes.
wait_ready() {
	local url=$1 deadline=$((SECONDS + $2)) pidfile=$3
	until ok "$url"; do
		if ! alive "$pidfile"; then
			return 1
		fi
		if ((SECONDS >= deadline)); then
			return 1
		fi
		sleep 0.1
	done
}

alive() {
	local pid state
	[[ -s $1 ]] || return 1
	pid=$(<"$1")
	kill -0 "$pid" 2>/dev/null || return 1
	# A process that died and that nobody reaped (a zombie) answers kill -0.
	state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
	[[ $state != Z ]]
}

start_jaeger() {
	if ok "$jaeger_health"; then
		say "Jaeger already answers on $jaeger_health: using it"
		return
	fi
	if [[ ! -x $JAEGER ]]; then
		say "no Jaeger binary at $JAEGER: run 'make jaeger' first (a cold build takes 5-10 minutes)"
		return 1
	fi
	say "starting Jaeger $jaeger_version"
	# JAEGER_LISTEN_HOST moves every listener of the built-in configuration to
	# loopback; the query ports have endpoints of their own.
	JAEGER_LISTEN_HOST=$host nohup "$JAEGER" \
		--set=extensions.jaeger_query.enable_tracing=false \
		--set=extensions.jaeger_query.http.endpoint=$host:16686 \
		--set=extensions.jaeger_query.grpc.endpoint=$host:16685 \
		>"$dir/jaeger.log" 2>&1 </dev/null &
	echo $! >"$dir/jaeger.pid"
	if ! wait_ready "$jaeger_health" 30 "$dir/jaeger.pid"; then
		say "Jaeger did not become ready; its log ($dir/jaeger.log) ends with:"
		tail -n 20 "$dir/jaeger.log" >&2 || true
		return 1
	fi
}

start_prometheus() {
	if ok "$prom_url/-/ready"; then
		# A Prometheus we did not start may scrape other targets: make sure it
		# is one with our configuration, or say why the tests would fail.
		if curl -fsS --max-time 2 "$prom_url/api/v1/status/config" | grep -q "$prom_job_marker"; then
			say "Prometheus already answers on $prom_url with our configuration: using it"
			return
		fi
		say "a Prometheus that does not scrape $e2e_target already listens on $prom_url: stop it first"
		return 1
	fi
	if ! command -v "$PROMETHEUS" >/dev/null; then
		say "no Prometheus: install Debian's package (apt-get install -y --no-install-recommends prometheus)"
		return 1
	fi
	local data rules="$root/examples/prometheus/slo-rules.yml"
	if [[ ! -s $rules ]]; then
		say "no SLO rules at $rules: run (cd examples && go run ./cmd/slo-rules -o prometheus/slo-rules.yml)"
		return 1
	fi
	data="$(mktemp -d "${TMPDIR:-/tmp}/resilience-prometheus.XXXXXX")"
	echo "$data" >"$dir/prometheus.data"
	cat >"$dir/prometheus.yml" <<-EOF
		# Written by scripts/backends.sh.
		global:
		  scrape_interval: 1s
		  scrape_timeout: 1s
		  evaluation_interval: 1s
		# The demo service's SLO rules (examples/cmd/slo-rules writes them).
		rule_files:
		  - '$rules'
		scrape_configs:
		  - job_name: resilience-demo
		    static_configs:
		      - targets: ['$demo_target']
		  - job_name: $prom_job_marker
		    static_configs:
		      - targets: ['$e2e_target']
	EOF
	say "starting Prometheus ($("$PROMETHEUS" --version 2>&1 | head -n 1))"
	nohup "$PROMETHEUS" \
		--config.file="$dir/prometheus.yml" \
		--storage.tsdb.path="$data" \
		--storage.tsdb.retention.time=2h \
		--web.listen-address=$host:9090 \
		--enable-feature=exemplar-storage \
		>"$dir/prometheus.log" 2>&1 </dev/null &
	echo $! >"$dir/prometheus.pid"
	if ! wait_ready "$prom_url/-/ready" 30 "$dir/prometheus.pid"; then
		say "Prometheus did not become ready; its log ($dir/prometheus.log) ends with:"
		tail -n 20 "$dir/prometheus.log" >&2 || true
		return 1
	fi
}

# stop NAME: end the process whose PID "up" recorded, politely then firmly.
stop() {
	local name=$1 pidfile="$dir/$1.pid" pid deadline
	[[ -s $pidfile ]] || return 0
	pid=$(<"$pidfile")
	# A PID file left by a machine's earlier life may name another process
	# now: end it only if it still is the program we started.
	if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$name"; then
		say "stopping $name (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		deadline=$((SECONDS + 15))
		while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			say "$name (pid $pid) did not stop in 15s: killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$pidfile"
}

# clean_data removes the temporary storage that "up" recorded for Prometheus.
clean_data() {
	local data
	[[ -s $dir/prometheus.data ]] || return 0
	data=$(<"$dir/prometheus.data")
	case "$data" in
	*/resilience-prometheus.*) rm -rf -- "$data" ;;
	esac
	rm -f "$dir/prometheus.data"
}

case "${1:-}" in
up)
	mkdir -p "$dir"
	# What an earlier "up" left when its processes died without a "down".
	for name in jaeger prometheus; do
		if [[ -s $dir/$name.pid ]] && ! alive "$dir/$name.pid"; then
			rm -f "$dir/$name.pid"
		fi
	done
	[[ -s $dir/prometheus.pid ]] || clean_data
	if ! start_jaeger || ! start_prometheus; then
		"$0" down
		exit 1
	fi
	cat >&2 <<-EOF
		backends: ready
		  Jaeger      $jaeger_query  (API: $jaeger_query/api/services; OTLP: http://$host:4318, grpc $host:4317)
		  Prometheus  $prom_url/graph  (scrapes $demo_target and $e2e_target every second; SLO alerts: $prom_url/alerts)
	EOF
	;;
down)
	stop jaeger
	stop prometheus
	clean_data
	;;
status)
	rc=0
	if ok "$jaeger_health"; then echo "Jaeger: up ($jaeger_query)"; else echo "Jaeger: down"; rc=1; fi
	if ok "$prom_url/-/ready"; then echo "Prometheus: up ($prom_url)"; else echo "Prometheus: down"; rc=1; fi
	exit $rc
	;;
*)
	echo "usage: $0 up|down|status" >&2
	exit 2
	;;
esac
