#!/usr/bin/env bash
# Fetch the browser tests' checking tools from npm, pinned by version and sha256:
#   axe-core  -> DIR/axe.min.js  (accessibility rules, injected into each page)
#   vnu-jar   -> DIR/vnu.jar     (the W3C Nu HTML Checker, run by java)
# They are test tools: never part of web/static or the console binary.
#
# Usage: scripts/a11y-tools.sh [DIR]   (default: .cache/a11y-tools; a relative DIR is
#        taken from the repo root, wherever this is run from)
# A no-op when DIR already holds these versions.
set -euo pipefail

axe_version=4.14.1
axe_sha256=e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745
vnu_version=26.9.27
vnu_sha256=5970d3ffca91a627cf0965e5d91bb2e4242307c29292998de0b419d6a901b2b7

log() { echo "a11y-tools: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

dir="${1:-.cache/a11y-tools}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
stamp="axe-core@$axe_version vnu-jar@$vnu_version"

present() { [[ -f "$dir/axe.min.js" && -f "$dir/vnu.jar" && "$(cat "$dir/VERSIONS" 2>/dev/null)" == "$stamp" ]]; }
if present; then
	log "$stamp already present in $dir"
	exit 0
fi
command -v npm >/dev/null || die "npm not found on PATH (apt-get install -y npm)"

# Several test binaries may call this at once: serialise and re-check.
if command -v flock >/dev/null; then
	exec 9>"$dir/.lock"
	flock 9
	if present; then exit 0; fi
fi

tmp="$(mktemp -d "$dir/.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# fetch NAME VERSION SHA256 FILE-IN-PACKAGE TARGET
fetch() {
	(cd "$tmp" && npm pack --silent "$1@$2" >/dev/null) || die "npm pack $1@$2 failed (is the npm registry reachable?)"
	local tgz="$tmp/$1-$2.tgz"
	[[ -f "$tgz" ]] || die "npm pack did not produce $tgz"
	echo "$3  $tgz" | sha256sum -c --quiet - || die "$1@$2: sha256 mismatch"
	mkdir -p "$tmp/$1"
	tar -xzf "$tgz" -C "$tmp/$1"
	[[ -f "$tmp/$1/package/$4" ]] || die "$1@$2 has no package/$4"
	mv "$tmp/$1/package/$4" "$dir/$5"
}

log "fetching $stamp into $dir"
fetch axe-core "$axe_version" "$axe_sha256" axe.min.js axe.min.js
fetch vnu-jar "$vnu_version" "$vnu_sha256" build/dist/vnu.jar vnu.jar
echo "$stamp" >"$dir/VERSIONS"
log "ready in $dir"
