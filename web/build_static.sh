#!/usr/bin/env bash
# Vendor the web UI's third-party JavaScript from npm into web/static/vendor/.
#
# The vendored files are committed, so a fresh clone works without npm; run this only to
# upgrade (the Makefile's `static` step calls it). Usage: web/build_static.sh [VERSION]
set -euo pipefail

CYTOSCAPE_VERSION="${1:-3.35.0}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
vendor="$here/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "cytoscape@${CYTOSCAPE_VERSION}" >/dev/null
tar xzf "cytoscape-${CYTOSCAPE_VERSION}.tgz"
mkdir -p "$vendor"
cp package/dist/cytoscape.min.js "$vendor/cytoscape.min.js"
cp package/LICENSE "$vendor/cytoscape.LICENSE"
echo "cytoscape ${CYTOSCAPE_VERSION}" > "$vendor/VERSIONS"
echo "vendored cytoscape ${CYTOSCAPE_VERSION} into $vendor"
