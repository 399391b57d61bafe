#!/usr/bin/env bash
# eval.sh: what `make eval` measures. Expects bin/verdict and the reference
# data in data/ (the Makefile builds and fetches both). It simulates the
# default population and every attacker model in the world of the real
# data, decides every event with the default rules (or RULES=DIR), prints
# the table and writes the trade-off chart as SVG and PNG.
#
# The simulated world tells hosting, datacenter and VPN networks apart with
# the lists in ../shared/data when present: without them, attackers who
# rent servers and VPN users browse from consumer networks.
#
# Environment:
#   RULES       folder of rule files (default: the embedded pack)
#   EVAL_OUT    where the chart and the JSON report go (default state/eval)
#   EVAL_ARGS   more flags for verdict eval (e.g. "--users 5000 --exact")
set -euo pipefail
cd "$(dirname "$0")/.."

out=${EVAL_OUT:-state/eval}
mkdir -p "$out"
args=(--data data --chart "$out/tradeoff.svg,$out/tradeoff.png" --report "$out/report.json")
if [[ -n ${RULES:-} ]]; then
	args+=(--rules "$RULES")
fi
shared=../shared/data
if [[ -f $shared/bad-asn-list/bad-asn-list.csv ]]; then
	args+=(--bad-asn "$shared/bad-asn-list/bad-asn-list.csv")
fi
x4b=$shared/x4bnet-lists-vpn
if [[ -f $x4b/datacenter-ipv4.txt && -f $x4b/datacenter-ipv6.txt ]]; then
	args+=(--datacenters "$x4b/datacenter-ipv4.txt,$x4b/datacenter-ipv6.txt")
fi
if [[ -f $x4b/vpn-ipv4.txt && -f $x4b/vpn-ipv6.txt ]]; then
	args+=(--vpns "$x4b/vpn-ipv4.txt,$x4b/vpn-ipv6.txt")
fi
# shellcheck disable=SC2206 # EVAL_ARGS is a list of flags, split on purpose
extra=(${EVAL_ARGS:-})
bin/verdict eval "${args[@]}" "${extra[@]}"
