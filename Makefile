# RaaS Console — the two commands: `make run` and `make test`.
GO       ?= go
BIN      := bin/console
PKGS     := ./...
export GOFLAGS := -mod=mod

.PHONY: run test build generate lint bench loadgen fuzz driver a11y-tools clean

## run: serve the console on the embedded defaults (private PostgreSQL under .data/, built-in simulator)
run: build
	CONSOLE_SECURE_COOKIES=$${CONSOLE_SECURE_COOKIES:-false} ./$(BIN) serve

## build: the static console binary
build: generate
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/console

## generate: templ components
generate:
	$(GO) tool templ generate

## test: every test — unit, handler, store-on-PostgreSQL, fuzz smoke, browser — after
## the lint checks (staticcheck takes ~45 s cold, ~17 s with its cache)
test: generate driver a11y-tools lint
	$(GO) test -count=1 -timeout 20m $(PKGS)
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 10s ./internal/synerise/

## driver: the playwright driver for the browser tests (from npm; no-op when present)
driver:
	bash scripts/playwright-driver.sh

## a11y-tools: axe-core and the Nu HTML Checker for the browser tests (from npm, pinned; no-op when present)
a11y-tools:
	bash scripts/a11y-tools.sh

## lint: go vet, staticcheck (pinned in go.mod as a tool) and gofmt
lint:
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$'); exit 1; }

## bench: Go benchmarks of the hot paths (customer page render and view, audit append,
## Synerise client round trip, settings diff, audit search/export ...); BENCH selects
## them by name, BENCHTIME sets -benchtime. See docs/BENCHMARKS.md.
BENCH     ?= .
BENCHTIME ?= 1s
bench: generate
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem -count=1 -timeout 30m $(PKGS)

## loadgen: the console under load, as its own process, against the simulator (fixed
## arrival rate; see docs/BENCHMARKS.md); LOADGEN_FLAGS passes flags, e.g. -duration 30s
loadgen: build
	$(GO) run ./cmd/loadgen -console $(BIN) $(LOADGEN_FLAGS)

clean:
	rm -rf bin artifacts
