#!/usr/bin/env bash
# test.sh: everything `make test` checks. Needs Go; installs nothing else yet.
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n $unformatted ]]; then
	echo "gofmt: these files need formatting:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
# The race detector on the packages with concurrent state; the rest plainly.
go test -count=1 ./...
go test -count=1 -race ./engine/... ./feeds/... ./signals/velocity/... ./signals/profile/...
