# The two commands of the README: `make run` and `make test`.
GO ?= go

.PHONY: run test build bench-startup fuzz

run:
	$(GO) run ./cmd/greenroom serve

# Every test, with the race detector. Tests that need PostgreSQL read
# GREENROOM_TEST_POSTGRES; under CI=true they fail when it is missing.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

build:
	$(GO) build -o bin/greenroom ./cmd/greenroom

bench-startup: build
	./bin/greenroom bench startup --runs 10
