# The front door. A newcomer runs `make demo`, then `make check`.
GO ?= go

.PHONY: check prereqs demo generate generate-check deps-check size-check fault-check test lint spec-check bench bench-smoke

## check: everything CI runs (the README's test command), prerequisites first
check: prereqs
	@$(MAKE) --no-print-directory lint size-check generate-check deps-check test fault-check bench-smoke spec-check

## prereqs: fail in seconds, naming what to install, if a tool check needs is missing
prereqs:
	@bash .ci/prereqs.sh

## demo: the client against the in-process fake server, no account needed
demo:
	$(GO) run ./cmd/leadway demo

## generate: regenerate gen/ and the fake server's code from api/openapi.yaml
generate:
	$(GO) generate ./...

## generate-check: regenerating must leave the generated code byte-identical
## (compared with the files on disk, so uncommitted but fresh code passes)
generate-check:
	@GO=$(GO) bash .ci/generate-check.sh

## deps-check: importers of packages leadway, webhook and oauth must not compile the generator, kin-openapi, go-redis or cobra
LEAN_PKGS = . ./webhook ./oauth
deps-check:
	@for pkg in $(LEAN_PKGS); do \
		bad="$$($(GO) list -deps $$pkg | grep -E 'oapi-codegen/oapi-codegen|kin-openapi|nethttp-middleware|redis|spf13/cobra' || true)"; \
		if [ -n "$$bad" ]; then echo "package $$pkg pulls in:" >&2; echo "$$bad" >&2; exit 1; fi; \
	done; \
	echo "deps-check: packages $(LEAN_PKGS) import none of oapi-codegen, kin-openapi, go-redis, cobra"
	@bad="$$($(GO) list -f '{{join .Imports "\n"}}' ./webhook | grep '\.' | grep -v '^github.com/leadwaycrm/leadway/' || true)"; \
	if [ -n "$$bad" ]; then echo "package webhook imports more than the standard library and this module:" >&2; echo "$$bad" >&2; exit 1; fi; \
	echo "deps-check: package webhook imports only the standard library and this module"

## size-check: no hand-written Go file over 350 lines, no function over 80
size-check:
	@$(GO) run ./internal/sizecheck

## test: all tests under the race detector
test:
	$(GO) test -race -count=1 ./...

## fault-check: the shared budget through Redis faults, real processes and a real
## redis-server; alone and without -race, since it counts how late requests arrive
fault-check:
	$(GO) test -count=1 -run '^TestFleetThroughRedisFaults$$' ./redislimit

## lint: gofmt, go vet and staticcheck (pinned in go.mod's tool block)
lint:
	@unformatted="$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted" >&2; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

## spec-check: Redocly lint, breaking-change gate and TypeScript check of the spec
spec-check:
	bash api/spec-check.sh

## bench: measure and write BENCHMARKS.md (about fifteen minutes; starts its own fake and redis-server)
bench:
	bash bench/run.sh

## bench-smoke: build and run each benchmark once, so they cannot rot (no timing is asserted)
bench-smoke:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...
