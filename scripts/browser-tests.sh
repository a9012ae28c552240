#!/usr/bin/env bash
# Browser tests of the screens: installs what they need if missing (Debian
# chromium, a CJK font, npm playwright-core pinned in tests/browser's lock
# file — no browser download), builds triage and runs them in headless Chromium.
# TRIAGE_UPDATE_SCREENSHOTS=1 writes the screenshots to docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null || need+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-wqy-zenhei)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "NOT RUN: browser tests need: sudo apt-get install ${need[*]}" >&2
    exit 3
  fi
fi
fc-list :lang=zh | grep -q . || { echo "no Chinese font after install" >&2; exit 3; }

cargo build --quiet
(cd tests/browser && npm ci --no-audit --no-fund --silent)
cd tests/browser
node --test --test-concurrency=1 --test-reporter=spec .
