# resilience — build, test and measure.
#
#   make test    vet + every module's tests under -race, then the end-to-end
#                tests against Jaeger and Prometheus, started and stopped
#                around them (the CI command)
#   make bench   every benchmark, -count=6, into build/bench.txt (for benchstat)
#   make bench-peers   the library against its peers (module bench/), -count=6,
#                into build/bench-peers.txt and the table of bench/RESULTS.md
#   make lint    gofmt, go vet, staticcheck
#   make cover   coverage of the library packages
#
#   make demo           the demo service (sends traces to Jaeger when it runs)
#   make backends-up    start Jaeger and Prometheus on 127.0.0.1 (backends-down stops them)
#   make e2e            the end-to-end tests, against running backends
#   make jaeger         build the Jaeger binary, once per version, into the user's cache
#   make slo-rules      rewrite examples/prometheus/slo-rules.yml, the demo's SLO rules
#   make pictures       redraw the README's pictures (docs/pictures) from an end-to-end run

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BUILD       := build

# The modules of the repository: the library, otelhooks (which carries the
# exporters' dependencies), resiliencegrpc (grpc), ratelimit/redis (go-redis;
# its tests start their own redis-server on a free loopback port, and fail
# when there is none), examples (the demo and the end-to-end tests) and bench
# (the peer benchmarks). The root's ./... does not enter nested modules, so
# each is named here.
MODULES     := . otelhooks resiliencegrpc ratelimit/redis examples bench

# make bench-peers: runs of each peer benchmark, and how long each lasts.
PEERS_COUNT     ?= 6
PEERS_BENCHTIME ?= 200ms

# Jaeger is a tool of its own module, built once per version into a cache
# outside the repository, so that fresh clones (CI) reuse it.
CACHE_DIR      ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/resilience
JAEGER_VERSION := $(shell awk '$$1 == "github.com/jaegertracing/jaeger" { print $$2; exit }' examples/tools/jaeger/go.mod)
JAEGER         ?= $(CACHE_DIR)/jaeger-$(JAEGER_VERSION)
export JAEGER

.PHONY: test vet unit bench bench-smoke bench-peers lint cover jaeger backends-up backends-down e2e test-e2e demo slo-rules pictures

test: vet unit test-e2e

vet:
	@set -e; for m in $(MODULES); do echo "go vet $$m"; (cd $$m && $(GO) vet ./...); done
	cd examples && $(GO) vet -tags e2e ./...

unit:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) test -race -count=1 ./...); done
	@$(MAKE) --no-print-directory bench-smoke

# make test's share of the peer benchmarks: each runs once, so that they
# compile and still do their work (each checks the error its work ends with).
bench-smoke:
	cd bench && $(GO) test -run='^$$' -bench=. -benchtime=1x ./...

jaeger: $(JAEGER)

$(JAEGER):
	@mkdir -p $(@D)
	@echo "building Jaeger $(JAEGER_VERSION) into $@ (once per version: 5-10 minutes and ~2 GB of memory when cold)"
	cd examples/tools/jaeger && $(GO) build -ldflags='-s -w' -o $@.tmp github.com/jaegertracing/jaeger/cmd/jaeger
	mv $@.tmp $@

backends-up: jaeger
	scripts/backends.sh up

# Also stops what an interrupted make test left running.
backends-down:
	scripts/backends.sh down
	BACKENDS_DIR=$(BUILD)/backends-test scripts/backends.sh down

# The end-to-end tests, against backends already running: they fail, saying
# how to start them, when one does not answer.
e2e:
	cd examples && $(GO) test -tags e2e -race -count=1 -timeout 4m -v ./e2e/

# make test's share: start the backends (using any already running), run the
# end-to-end tests, and stop what was started here, pass or fail.
test-e2e: jaeger
	@BACKENDS_DIR=$(BUILD)/backends-test scripts/backends.sh up
	@status=0; $(MAKE) --no-print-directory e2e || status=$$?; \
	BACKENDS_DIR=$(BUILD)/backends-test scripts/backends.sh down; exit $$status

# The demo, on the embedded default; its traces go to Jaeger when Jaeger runs.
demo:
	@if curl -fsS -o /dev/null --max-time 1 http://127.0.0.1:13133/status 2>/dev/null; then \
		export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318; fi; \
	cd examples && $(GO) run ./demo $(DEMO_FLAGS)

# The rules Prometheus loads (scripts/backends.sh): generated from the demo's
# objectives in Go; a test of examples/cmd/slo-rules fails when they are stale.
slo-rules:
	cd examples && $(GO) run ./cmd/slo-rules -o prometheus/slo-rules.yml

# The README's pictures, drawn from what an end-to-end run reads back: a
# trace from Jaeger, an outage's breaker state and SLO burn from Prometheus.
PICTURES_DATA := $(abspath $(BUILD)/pictures)
pictures: jaeger
	@mkdir -p $(PICTURES_DATA)
	@BACKENDS_DIR=$(BUILD)/backends-test scripts/backends.sh up
	@status=0; (cd examples && E2E_PICTURES_DIR=$(PICTURES_DATA) $(GO) test -tags e2e -count=1 -timeout 4m \
		-run 'TestEndToEnd|TestDemoTrace|TestSLOAlertInPrometheus' ./e2e/) || status=$$?; \
	BACKENDS_DIR=$(BUILD)/backends-test scripts/backends.sh down; exit $$status
	cd examples && $(GO) run ./cmd/pictures -in $(PICTURES_DATA) -out ../docs/pictures

bench:
	@mkdir -p $(BUILD)
	$(GO) test -run='^$$' -bench=. -benchmem -count=6 ./... | tee $(BUILD)/bench.txt
	cd otelhooks && $(GO) test -run='^$$' -bench=. -benchmem -count=6 ./... | tee -a ../$(BUILD)/bench.txt

# The peer benchmarks, from one test binary run PEERS_COUNT times, so that the
# runs of the library and of its peers interleave and a machine that slows
# down midway skews no ratio; then the table of their medians.
bench-peers:
	@mkdir -p $(BUILD)
	cd bench && $(GO) test -c -o ../$(BUILD)/bench-peers.test .
	@rm -f $(BUILD)/bench-peers.txt
	@set -e; for i in $$(seq $(PEERS_COUNT)); do \
		echo "run $$i of $(PEERS_COUNT)"; \
		(cd bench && ../$(BUILD)/bench-peers.test -test.run='^$$' -test.bench=. -test.benchmem \
			-test.benchtime=$(PEERS_BENCHTIME)) >> $(BUILD)/bench-peers.txt; \
	done
	cd bench && $(GO) run ./benchtable -src . -readme ../README.md < ../$(BUILD)/bench-peers.txt > RESULTS.md
	@cat bench/RESULTS.md

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@set -e; for m in $(MODULES); do echo "staticcheck $$m"; (cd $$m && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...); done
	cd examples && $(GO) run $(STATICCHECK) -tags e2e ./...

cover:
	@mkdir -p $(BUILD)
	$(GO) test -race -count=1 -coverprofile=$(BUILD)/cover.out ./...
	$(GO) tool cover -func=$(BUILD)/cover.out | tail -n 1
