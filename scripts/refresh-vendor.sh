#!/bin/sh
# Refresh widget/vendor from npm: socket.io-client 4.x (ESM build). The version is pinned in
# package.json / package-lock.json (its types check the front end), and the vendored copy is
# that package's file, which `npm run check` compares; VERSIONS records it.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SPEC=${1:-socket.io-client@4}
cd "$ROOT"
npm install --save-dev --save-exact --no-audit --no-fund "$SPEC"
VERSION=$(node -p "require('./node_modules/socket.io-client/package.json').version")
cp node_modules/socket.io-client/dist/socket.io.esm.min.js widget/vendor/socket.io.esm.min.js
cp node_modules/socket.io-client/LICENSE widget/vendor/socket.io-client.LICENSE
cat > widget/vendor/VERSIONS <<VERS
# Vendored browser libraries (refresh with scripts/refresh-vendor.sh)
socket.io-client $VERSION dist/socket.io.esm.min.js (npm)
VERS
echo "socket.io-client $VERSION vendored"
