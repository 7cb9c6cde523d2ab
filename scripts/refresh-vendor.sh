#!/bin/sh
# Refresh widget/vendor from npm: socket.io-client 4.x (ESM build), versions recorded in VERSIONS.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SPEC=${1:-socket.io-client@4}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
TARBALL=$(npm pack --silent "$SPEC")
tar xzf "$TARBALL"
VERSION=$(node -p "require('./package/package.json').version")
cp package/dist/socket.io.esm.min.js "$ROOT/widget/vendor/socket.io.esm.min.js"
cp package/LICENSE "$ROOT/widget/vendor/socket.io-client.LICENSE"
cat > "$ROOT/widget/vendor/VERSIONS" <<VERS
# Vendored browser libraries (refresh with scripts/refresh-vendor.sh)
socket.io-client $VERSION dist/socket.io.esm.min.js (npm)
VERS
echo "socket.io-client $VERSION vendored"
