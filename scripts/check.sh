#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run) and the README gives it:
# install what the tests need (Debian packages, Go if missing), build, vet,
# run every test (system tests need root and skip with a message
# otherwise), then every native fuzz target for FUZZTIME (default 10s).
# usage: sudo scripts/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o bin/rampart ./cmd/rampart
go vet ./...
go test -count=1 -timeout 25m ./...
scripts/fuzz.sh "${FUZZTIME:-10s}"
