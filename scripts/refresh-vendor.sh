#!/bin/sh
# Refresh widget/vendor from npm: socket.io-client 4.x (ESM build) and uPlot (the console's
# report charts, ESM build and its stylesheet). Versions are pinned in package.json /
# package-lock.json (their types check the front end), and the vendored copies are those
# packages' files, which `npm run check` compares; VERSIONS records them. Arguments are
# package specs to install first (e.g. socket.io-client@4 uplot@1).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if [ "$#" -gt 0 ]; then
  npm install --save-dev --save-exact --no-audit --no-fund "$@"
else
  npm ci --no-audit --no-fund --loglevel=error
fi
version() { node -p "require('./node_modules/$1/package.json').version"; }
cp node_modules/socket.io-client/dist/socket.io.esm.min.js widget/vendor/socket.io.esm.min.js
cp node_modules/socket.io-client/LICENSE widget/vendor/socket.io-client.LICENSE
cp node_modules/uplot/dist/uPlot.esm.js widget/vendor/uPlot.esm.js
cp node_modules/uplot/dist/uPlot.min.css widget/vendor/uPlot.min.css
cp node_modules/uplot/LICENSE widget/vendor/uPlot.LICENSE
cat > widget/vendor/VERSIONS <<VERS
# Vendored browser libraries (refresh with scripts/refresh-vendor.sh)
socket.io-client $(version socket.io-client) dist/socket.io.esm.min.js (npm)
uplot $(version uplot) dist/uPlot.esm.js, dist/uPlot.min.css (npm)
VERS
cat widget/vendor/VERSIONS
