#!/usr/bin/env bash
# Build the Playwright driver directory that playwright-go needs, without
# Playwright's own downloads (which do not work on our machines).
#
# Usage: scripts/playwright-driver.sh [DIR]   (default: .cache/playwright-driver;
#        a relative DIR is taken from the repo root, wherever this is run from)
#
# The driver is the npm package playwright-core at exactly the version that
# playwright-go names in run.go (playwrightCliVersion), run by the system node.
# Result: DIR/node (symlink to system node) and DIR/package/cli.js.
# A no-op when `DIR/node DIR/package/cli.js --version` already prints that version.
set -euo pipefail

log() { echo "playwright-driver: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Run from the repo root regardless of where we were invoked.
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
[[ -f go.mod ]] || die "no go.mod in $repo_root"

dir="${1:-.cache/playwright-driver}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

command -v go >/dev/null || die "go not found on PATH"
command -v node >/dev/null || die "node not found on PATH (apt-get install -y nodejs npm)"
command -v npm >/dev/null || die "npm not found on PATH (apt-get install -y npm)"

mod=github.com/playwright-community/playwright-go
go mod download "$mod" || die "go mod download $mod failed"
moddir="$(go list -m -f '{{.Dir}}' "$mod")"
[[ -n "$moddir" && -f "$moddir/run.go" ]] || die "cannot find $mod sources (got '$moddir')"

version="$(sed -nE 's/^[[:space:]]*(const[[:space:]]+)?playwrightCliVersion[[:space:]]*=[[:space:]]*"([^"]+)".*/\2/p' "$moddir/run.go" | head -n1)"
[[ -n "$version" ]] || die "cannot read playwrightCliVersion from $moddir/run.go"

current_version() {
	[[ -x "$dir/node" && -f "$dir/package/cli.js" ]] || return 0
	"$dir/node" "$dir/package/cli.js" --version 2>/dev/null | sed -n 's/^Version //p' | head -n1 || true
}

have="$(current_version)"
if [[ "$have" == "$version" ]]; then
	log "driver $version already present in $dir"
	exit 0
fi

# Several test binaries (go test ./...) may call this at once: serialise and re-check.
if command -v flock >/dev/null; then
	exec 9>"$dir/.lock"
	flock 9
	have="$(current_version)"
fi
if [[ "$have" == "$version" ]]; then
	log "driver $version already present in $dir"
	exit 0
fi
if [[ -n "$have" ]]; then
	log "driver in $dir is $have, want $version: rebuilding"
else
	log "building driver $version in $dir"
fi

tmp="$(mktemp -d "$dir/.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "playwright-core@$version" >/dev/null) ||
	die "npm pack playwright-core@$version failed (is the npm registry reachable?)"
tarball="$tmp/playwright-core-$version.tgz"
[[ -f "$tarball" ]] || die "npm pack did not produce $tarball"
tar -xzf "$tarball" -C "$tmp"
[[ -f "$tmp/package/cli.js" ]] || die "unpacked tarball has no package/cli.js"

rm -rf "$dir/package" "$dir/node"
mv "$tmp/package" "$dir/package"
ln -s "$(command -v node)" "$dir/node"

have="$(current_version)"
[[ "$have" == "$version" ]] || die "driver in $dir reports '${have:-nothing}', want $version"
log "driver $version ready in $dir (node $(node --version))"
