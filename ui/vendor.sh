#!/usr/bin/env bash
# Reinstalls the pinned browser libraries (uPlot, from ui/package-lock.json) and copies the files
# the page loads into ui/dist/, which is committed so a checkout builds without npm.
#
#   ui/vendor.sh          npm ci in ui/, then copy into ui/dist/
#   ui/vendor.sh --check  npm ci into a scratch directory and fail if ui/dist/'s copies differ
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
FILES=(uPlot.iife.min.js uPlot.min.css)

if [ "${1:-}" = "--check" ]; then
  scratch="${UI_VENDOR_SCRATCH:-$(mktemp -d)}"
  mkdir -p "$scratch"
  cp package.json package-lock.json "$scratch/"
  (cd "$scratch" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  status=0
  for f in "${FILES[@]}"; do
    if ! cmp -s "$scratch/node_modules/uplot/dist/$f" "dist/$f"; then
      echo "ui/dist/$f differs from the uplot in ui/package-lock.json: run ui/vendor.sh" >&2
      status=1
    fi
  done
  exit $status
fi

npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
for f in "${FILES[@]}"; do
  cp "node_modules/uplot/dist/$f" "dist/$f"
done
echo "copied ${FILES[*]} from uplot $(node -p 'require("./node_modules/uplot/package.json").version')"
