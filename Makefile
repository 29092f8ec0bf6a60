# resilience — build, test and measure.
#
#   make test    vet + every module's tests under -race (the CI command)
#   make bench   every benchmark, -count=6, into build/bench.txt (for benchstat)
#   make lint    gofmt, go vet, staticcheck
#   make cover   coverage of the library packages

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BUILD       := build

.PHONY: test vet unit bench lint cover

test: vet unit

vet:
	$(GO) vet ./...
	cd examples && $(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

bench:
	@mkdir -p $(BUILD)
	$(GO) test -run='^$$' -bench=. -benchmem -count=6 ./... | tee $(BUILD)/bench.txt

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd examples && $(GO) run $(STATICCHECK) ./...

cover:
	@mkdir -p $(BUILD)
	$(GO) test -race -count=1 -coverprofile=$(BUILD)/cover.out ./...
	$(GO) tool cover -func=$(BUILD)/cover.out | tail -n 1
