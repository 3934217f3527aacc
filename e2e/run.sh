#!/usr/bin/env bash
# Runs the dashboard's end-to-end browser tests against a warden binary: the pages and
# workflows (dashboard.test.mjs), then page load times with 100,000 alerts (scale.test.mjs).
#   WARDEN_BIN=../target/release/warden ./run.sh
# Needs Node.js 20+ and Chromium (Debian: apt-get install chromium; or set CHROMIUM).
set -euo pipefail
cd "$(dirname "$0")"
if [ -z "${WARDEN_BIN:-}" ]; then
  echo "set WARDEN_BIN to the warden binary (e.g. WARDEN_BIN=../target/release/warden)" >&2
  exit 2
fi
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi
if [ "$#" -eq 0 ]; then
  set -- dashboard.test.mjs scale.test.mjs
fi
# One file at a time: each starts its own server and browser.
exec node --test --test-concurrency=1 --test-reporter=spec "$@"
