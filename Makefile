# rampart — build, test, benchmark.
# `sudo scripts/check.sh` (or `sudo make check`) is the whole test suite,
# what CI runs through .ci/run.

GO        ?= go
BIN       ?= bin/rampart
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/rampart-ids/rampart/internal/cli.version=$(VERSION)
FUZZTIME  ?= 10s

.PHONY: all build deps test fuzz check bench clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/rampart

# deps installs what the tests need (Debian packages, Go if missing); needs root.
deps:
	scripts/deps.sh

# test runs vet, every unit and system test (system tests need root and skip
# with a message otherwise), then each fuzz target for $(FUZZTIME).
test: build
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m ./...
	scripts/fuzz.sh $(FUZZTIME)

# check is the whole suite: scripts/check.sh (which needs no make).
check:
	FUZZTIME=$(FUZZTIME) scripts/check.sh

bench: build
	scripts/bench-filter.sh

clean:
	rm -rf bin
