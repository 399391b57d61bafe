#!/usr/bin/env bash
# bench.sh: what `make bench` measures.
#   1. Go benchmarks of the hot path, in-process (ns/op, allocs/op).
#   2. The HTTP decision API under load from a second process on this
#      machine: full speed with wrk (installed from Debian's packages when
#      missing; it costs the machine less per request than a Go client, so
#      more of the two cores go to the server), then a constant 5,000
#      decisions/s with bench/cmd/load, whose open loop measures latency
#      from each request's due time.
#   3. Kafka end to end on the embedded broker (bench/cmd/kafkaload, a
#      third process): events produced, decided, the decision acknowledged
#      and read back — at full speed (events/s) and at a constant 20,000
#      events/s (latency from each event's due time).
# Figures depend on the machine and on what else runs on it; compare runs
# on one machine, as ratios.
#
# Environment: BENCHTIME (go test -benchtime, default 1s), LOAD_DURATION
# (default 10s), DATA (reference data, default data; fixture data if absent),
# KAFKA_COUNT (events of the full-speed Kafka run, default 100000),
# KAFKA_RATE (default 20000) and KAFKA_DURATION (default 10s).
set -euo pipefail
cd "$(dirname "$0")/.."

benchtime=${BENCHTIME:-1s}
duration=${LOAD_DURATION:-10s}
data=${DATA:-data}

echo "== Go benchmarks (benchtime $benchtime)"
# With the downloaded data present, the geo and enrichment benchmarks run on
# it (engine BenchmarkEnrichNetwork: the network signals of one event, cold
# and cached); otherwise on fixtures of the same shape.
if [[ -d $data ]]; then
	export VERDICT_DATA
	VERDICT_DATA=$(cd "$data" && pwd)
fi
go test -run '^$' -bench . -skip Memory -benchmem -benchtime "$benchtime" \
	./engine/ ./engine/api/ ./rules/... ./feeds/... ./signals/... 2>&1 | grep -E '^(Benchmark|ok|FAIL|pkg:)' || true

# Memory per tracked user (VERDICT_BENCH_USERS profiles, default 100,000),
# per counter key and per RBA table value at a million: one run each.
echo
echo "== memory benchmarks"
go test -run '^$' -bench Memory -benchtime 1x \
	./signals/profile/ ./signals/velocity/ ./signals/rba/ 2>&1 |
	grep -E '^(Benchmark|ok|FAIL|pkg:)' || true

echo
echo "== HTTP API load"
mkdir -p bin
go build -o bin/verdictd ./cmd/verdictd
go build -o bin/load ./bench/cmd/load
state=$(mktemp -d)
port=18181
data_flag=()
if [[ -d $data ]]; then
	data_flag=(-data "$data")
fi
bin/verdictd --listen 127.0.0.1:$port --data "$data" --state "$state" --log-level warn \
	2>"$state/verdictd.log" &
pid=$!
# stop_verdictd ends the verdictd this script started, if it still runs.
stop_verdictd() {
	[[ -n ${pid:-} ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=
}
trap 'stop_verdictd; rm -rf "$state"' EXIT
for _ in $(seq 100); do
	curl -sf http://127.0.0.1:$port/readyz >/dev/null 2>&1 && break
	sleep 0.1
done
bodies="$state/bodies.jsonl"
bin/load -dump "$bodies" "${data_flag[@]}"
scripts/deb.sh wrk 2>/dev/null ||
	echo "bench: could not install wrk; the full-speed load uses bench/cmd/load" >&2
echo "-- full speed, $duration"
if command -v wrk >/dev/null; then
	BODIES="$bodies" wrk -t1 -c8 -d"$duration" --latency -s bench/wrk/decide.lua \
		http://127.0.0.1:$port
else
	bin/load -url http://127.0.0.1:$port -rate 0 -duration "$duration" -connections 8 "${data_flag[@]}"
fi
echo "-- constant 5000/s, $duration"
bin/load -url http://127.0.0.1:$port -rate 5000 -duration "$duration" -connections 8 "${data_flag[@]}"
stop_verdictd

echo
echo "== Kafka end to end, embedded broker"
go build -o bin/kafkaload ./bench/cmd/kafkaload
kstate="$state/kafka"
mkdir -p "$kstate"
bin/verdictd --listen 127.0.0.1:0 --data "$data" --state "$kstate" --log-level info \
	--kafka=embedded --kafka-embedded-listen 127.0.0.1:0 2>"$kstate/verdictd.log" &
pid=$!
broker=
for _ in $(seq 100); do
	broker=$(sed -n 's/.*"msg":"embedded Kafka broker started","addr":"\([^"]*\)".*/\1/p' \
		"$kstate/verdictd.log")
	[[ -n $broker ]] && grep -q '"msg":"consuming"' "$kstate/verdictd.log" && break
	sleep 0.1
done
[[ -n $broker ]] || { echo "bench: verdictd did not start its broker" >&2; exit 1; }
echo "-- full speed, ${KAFKA_COUNT:-100000} events"
bin/kafkaload -brokers "$broker" -in "$bodies" -count "${KAFKA_COUNT:-100000}"
echo "-- constant ${KAFKA_RATE:-20000}/s, ${KAFKA_DURATION:-10s}"
bin/kafkaload -brokers "$broker" -in "$bodies" -rate "${KAFKA_RATE:-20000}" \
	-duration "${KAFKA_DURATION:-10s}"
