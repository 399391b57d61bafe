#!/usr/bin/env bash
# deb.sh COMMAND [PACKAGE] — makes sure COMMAND is on PATH, installing
# Debian's PACKAGE (default: COMMAND) with apt-get when it is not; through
# sudo when not root. Exits non-zero, with the reason, when that fails.
set -euo pipefail

cmd=$1
pkg=${2:-$1}
command -v "$cmd" >/dev/null 2>&1 && exit 0
sudo=()
if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "deb.sh: $cmd is missing and installing $pkg needs root or sudo" >&2
		exit 1
	}
	sudo=(sudo)
fi
echo "deb.sh: installing Debian package $pkg (for $cmd)" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -qq "$pkg"; } >"$log" 2>&1; then
	tail -n 5 "$log" | sed 's/^/  apt-get: /' >&2
	echo "deb.sh: could not install $pkg" >&2
	exit 1
fi
command -v "$cmd" >/dev/null 2>&1 || {
	echo "deb.sh: $pkg is installed but $cmd is still not on PATH" >&2
	exit 1
}
