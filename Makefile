# resilience — build, test and measure.
#
#   make test    vet + every module's tests under -race, then the end-to-end
#                tests against Jaeger and Prometheus, started and stopped
#                around them (the CI command)
#   make bench   every benchmark, -count=6, into build/bench.txt (for benchstat)
#   make lint    gofmt, go vet, staticcheck
#   make cover   coverage of the library packages
#
#   make demo           the demo service (sends traces to Jaeger when it runs)
#   make backends-up    start Jaeger and Prometheus on 127.0.0.1 (backends-down stops them)
#   make e2e            the end-to-end tests, against running backends
#   make jaeger         build the Jaeger binary, once per version, into the user's cache

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BUILD       := build

# The modules of the repository: the library, otelhooks (which carries the
# exporters' dependencies), ratelimit/redis (go-redis; its tests start their
# own redis-server on a free loopback port, and fail when there is none) and
# examples (the demo and the end-to-end tests). The root's ./... does not
# enter nested modules, so each is named here.
MODULES     := . otelhooks ratelimit/redis examples

# Jaeger is a tool of its own module, built once per version into a cache
# outside the repository, so that fresh clones (CI) reuse it.
CACHE_DIR      ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/resilience
JAEGER_VERSION := $(shell awk '$$1 == "github.com/jaegertracing/jaeger" { print $$2; exit }' examples/tools/jaeger/go.mod)
JAEGER         ?= $(CACHE_DIR)/jaeger-$(JAEGER_VERSION)
export JAEGER

.PHONY: test vet unit bench lint cover jaeger backends-up backends-down e2e test-e2e demo

test: vet unit test-e2e

vet:
	@set -e; for m in $(MODULES); do echo "go vet $$m"; (cd $$m && $(GO) vet ./...); done
	cd examples && $(GO) vet -tags e2e ./...

unit:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) test -race -count=1 ./...); done

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
	cd examples && $(GO) test -tags e2e -race -count=1 -timeout 2m -v ./e2e/

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

bench:
	@mkdir -p $(BUILD)
	$(GO) test -run='^$$' -bench=. -benchmem -count=6 ./... | tee $(BUILD)/bench.txt
	cd otelhooks && $(GO) test -run='^$$' -bench=. -benchmem -count=6 ./... | tee -a ../$(BUILD)/bench.txt

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@set -e; for m in $(MODULES); do echo "staticcheck $$m"; (cd $$m && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...); done
	cd examples && $(GO) run $(STATICCHECK) -tags e2e ./...

cover:
	@mkdir -p $(BUILD)
	$(GO) test -race -count=1 -coverprofile=$(BUILD)/cover.out ./...
	$(GO) tool cover -func=$(BUILD)/cover.out | tail -n 1
