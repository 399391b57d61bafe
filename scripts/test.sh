#!/usr/bin/env bash
# test.sh: everything `make test` checks. Needs Go; installs kcat, the
# outside Kafka client of cmd/verdictd's interop test, from Debian's
# packages when it is missing (that test fails in CI without it).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deb.sh kcat || echo "test.sh: without kcat the Kafka interop test cannot run" >&2

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n $unformatted ]]; then
	echo "gofmt: these files need formatting:" >&2
	echo "$unformatted" >&2
	exit 1
fi
# The synctests build tag gives franz-go locks that testing/synctest can
# wait on (feeds/kafka's fake-time tests need it; nothing else changes).
go vet -tags synctests ./...
# The race detector on the packages with concurrent state; the rest plainly.
go test -count=1 -tags synctests ./...
go test -count=1 -race -tags synctests ./engine/... ./feeds/... ./signals/velocity/... \
	./signals/profile/...
