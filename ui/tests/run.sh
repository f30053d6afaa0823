#!/usr/bin/env bash
# Runs the web UI's end-to-end tests (ui/tests/*.test.mjs) in Debian's chromium, driven by
# playwright-core from ui/tests/package-lock.json, against a real lookout binary. Called by
# scripts/test; runnable alone from anywhere in the checkout.
#
# Installs what is missing: chromium from Debian (needs root or sudo), playwright-core with
# `npm ci` under target/ui-tests (never into the source tree). The binary is $LOOKOUT_BIN, or
# the debug build of this checkout (built if needed). Screenshots of each main view go to
# $LOOKOUT_UI_SCREENSHOTS (default target/ui-screenshots); copy them to docs/screenshots/ to
# update the README's pictures.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
log() { echo "[ui/tests/run.sh] $*" >&2; }

if [ ! -x /usr/bin/chromium ]; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  log "installing Debian's chromium"
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends chromium
fi

deps="${LOOKOUT_UI_TEST_DEPS:-$target/ui-tests}"
mkdir -p "$deps"
if [ -f "$deps/node_modules/playwright-core/package.json" ] && cmp -s "$here/package-lock.json" "$deps/package-lock.json"; then
  log "playwright-core already installed in $deps"
else
  log "installing playwright-core into $deps"
  cp "$here/package.json" "$here/package-lock.json" "$deps/"
  (cd "$deps" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
# The tests import playwright-core by name, so they run from beside its node_modules.
cp "$here"/*.mjs "$deps/"

if [ -z "${LOOKOUT_BIN:-}" ]; then
  cargo build --bin lookout
  export LOOKOUT_BIN="$target/debug/lookout"
fi
export LOOKOUT_UI_SCREENSHOTS="${LOOKOUT_UI_SCREENSHOTS:-$target/ui-screenshots}"
log "testing $LOOKOUT_BIN; screenshots in $LOOKOUT_UI_SCREENSHOTS"
cd "$deps"
node --test --test-concurrency=1 ./*.test.mjs
