# RaaS Console — the two commands: `make run` and `make test`.
GO       ?= go
BIN      := bin/console
PKGS     := ./...
export GOFLAGS := -mod=mod

.PHONY: run test build generate lint bench fuzz driver clean

## run: serve the console on the embedded defaults (private PostgreSQL under .data/, built-in simulator)
run: build
	CONSOLE_SECURE_COOKIES=$${CONSOLE_SECURE_COOKIES:-false} ./$(BIN) serve

## build: the static console binary
build: generate
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/console

## generate: templ components
generate:
	$(GO) tool templ generate

## test: every test — unit, handler, store-on-PostgreSQL, fuzz smoke, browser
test: generate driver
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$'); exit 1; }
	$(GO) test -count=1 -timeout 20m $(PKGS)
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 10s ./internal/synerise/

## driver: the playwright driver for the browser tests (from npm; no-op when present)
driver:
	bash scripts/playwright-driver.sh

## lint: go vet and gofmt
lint:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$'))" || { gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$'); exit 1; }

## bench: Go benchmarks of the hot paths
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 $(PKGS)

clean:
	rm -rf bin artifacts
