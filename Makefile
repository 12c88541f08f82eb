# rampart — build, test, benchmark.
# `sudo scripts/check.sh` (or `sudo make check`) is the whole test suite,
# what CI runs through .ci/run.

GO        ?= go
BIN       ?= bin/rampart
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/rampart-ids/rampart/internal/cli.version=$(VERSION)
FUZZTIME  ?= 10s

.PHONY: all build deps test fuzz check bench clean deb dist

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

# deb builds dist/rampart_<version>_amd64.deb and _arm64.deb with nfpm
# (cmd/mkdist): static binaries, man pages, completions, the conffile, the
# hardened unit. VERSION overrides the one from git describe;
# SOURCE_DATE_EPOCH (default: the commit's time) dates every file, so two
# builds of one commit give the same bytes. ARCHES=amd64 builds one.
ARCHES ?= amd64,arm64
deb:
	$(GO) run ./cmd/mkdist -arch $(ARCHES) -out dist $(if $(filter command line environment,$(origin VERSION)),-version $(VERSION)) deb

# dist builds the packages and one tarball per architecture (binary, unit,
# man pages, completions, default config, SHA256SUMS, SBOM) into dist/.
dist:
	$(GO) run ./cmd/mkdist -arch $(ARCHES) -out dist $(if $(filter command line environment,$(origin VERSION)),-version $(VERSION)) all

clean:
	rm -rf bin dist/*.deb dist/*.tar.gz dist/SHA256SUMS
