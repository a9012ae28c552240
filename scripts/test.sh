#!/usr/bin/env bash
# Triage's test command: runs EVERY test.
#   1. formatting and lints (cargo fmt --check, clippy -D warnings); aiosmtpd
#      installed for the alert tests (a real SMTP server per test)
#   2. the whole workspace suite on SQLite (real files), the served API
#      document through openapi-spec-validator among it; the integration
#      suite again under faketime at 22:30 China time more than a year
#      ahead (no test reads the host's clock); then the API document
#      against a demo server by Schemathesis (pinned, installed from PyPI),
#      all checks, signed as a HIS client, as the administrator and with
#      fuzzed path names, zero failures (scripts/api-fuzz.sh,
#      schemathesis.toml)
#   3. the integration suite again on a throwaway PostgreSQL cluster that this
#      script starts (initdb as the postgres user, free port, temp dir) and stops
#   4. the browser tests, if present (scripts/browser-tests.sh)
#   5. the Debian package: built (cargo deb), installed as root, the service
#      started as its unit says and /readyz ready, purged
#      (scripts/package-test.sh)
#   6. the log scan: every log line of 2-4 (in target/test-logs/) is searched
#      for the passwords, keys, tokens, session ids and patient names the
#      tests made, and for ID numbers, phone numbers and names in general
#      (scripts/scan-logs.py)
# A part that cannot run is reported loudly as NOT RUN and the script fails;
# nothing is ever reported as passed that did not run.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==== %s ====\n' "$*"; }
not_run=()

say "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

# Every test writes its log lines here, with the secrets it made beside them.
export TRIAGE_TEST_LOG_DIR="$PWD/target/test-logs"
rm -rf "$TRIAGE_TEST_LOG_DIR"
mkdir -p "$TRIAGE_TEST_LOG_DIR"

say "SMTP server for the alert tests (aiosmtpd)"
# The alert tests start a real SMTP server (python3 -m aiosmtpd) per test.
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check aiosmtpd \
    || { command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] && apt-get install -y -qq python3-aiosmtpd >/dev/null; } || true
fi
python3 -c 'import aiosmtpd' || { echo "NOT RUN: the alert tests need aiosmtpd (python3 -m pip install aiosmtpd)" >&2; exit 3; }

say "tools the tests need: faketime, espeak-ng, nginx, promtool (Debian); openapi-spec-validator (PyPI)"
# Debian packages: installed when missing and the script runs as root
# (CI); otherwise their parts say NOT RUN.
need_deb() { # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "$2 not installed: installing it (apt-get install $2)"
    (apt-get install -y -qq "$2" >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }) || true
  fi
  command -v "$1" >/dev/null 2>&1
}
# Server speech for screens without a Chinese voice is tested for real.
need_deb espeak-ng espeak-ng || { echo "NOT RUN: the server speech test needs espeak-ng (sudo apt-get install espeak-ng)" >&2; exit 3; }
need_deb faketime faketime || not_run+=("the suite under faketime (sudo apt-get install faketime)")
# Packages that come with a service of their own (nginx, prometheus):
# installing one must not leave that service running, so service starts
# are refused while it installs.
need_deb_no_service() { # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "$2 not installed: installing it (apt-get install $2; its service is not started)"
    made_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d && made_policy=1
    fi
    (apt-get install -y -qq "$2" >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }) || true
    [ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
  fi
  command -v "$1" >/dev/null 2>&1
}
# The login test behind the documented nginx (tests/integration/logins.rs)
# runs Debian's nginx itself.
need_deb_no_service nginx nginx || { echo "NOT RUN: the login test behind nginx needs nginx (sudo apt-get install nginx)" >&2; exit 3; }
# /metrics is checked by promtool (Debian's prometheus package), as
# hospital IT would check it.
need_deb_no_service promtool prometheus || { echo "NOT RUN: the /metrics check needs promtool (sudo apt-get install prometheus)" >&2; exit 3; }
# The served API document is checked by openapi-spec-validator (pinned),
# in the integration suite (tests/integration/openapi.rs).
[ "$(python3 -c 'import importlib.metadata as m; print(m.version("openapi-spec-validator"))' 2>/dev/null)" = 0.9.0 ] \
  || python3 -m pip install --quiet --disable-pip-version-check 'openapi-spec-validator==0.9.0' \
  || { echo "NOT RUN: the API document check needs openapi-spec-validator 0.9.0 from PyPI" >&2; exit 3; }

say "the house: functions over 100 lines (at most 8); the layers are tests/architecture.rs in the suite"
python3 scripts/long-functions.py

say "test suite on SQLite"
cargo test --workspace   # benches are compiled by clippy above and run by `cargo bench`

if command -v faketime >/dev/null 2>&1; then
  # The guard that no test reads the host's clock or carries a fixed date:
  # the integration suite again at 22:30 China time on a day more than a
  # year after today, with monotonic time left real (timers behave).
  FAKE_AT="$(date -u -d '+400 days' +%Y-%m-%d) 14:30:00"
  say "integration suite under faketime at $FAKE_AT UTC (22:30 China time, more than a year ahead)"
  INTEGRATION_BIN=$(cargo test --test integration --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "integration" and m.get("executable"):
        print(m["executable"])')
  FAKETIME_DONT_FAKE_MONOTONIC=1 faketime "$FAKE_AT" "$INTEGRATION_BIN"
fi

say "API document against the server (Schemathesis, every phase, all checks, three passes)"
scripts/api-fuzz.sh

say "test suite on PostgreSQL"
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pg_bin)" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "PostgreSQL server not installed: installing it (apt-get install postgresql)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || true
fi
PGBIN=$(pg_bin)
if [ -z "$PGBIN" ]; then
  not_run+=("PostgreSQL suite (no PostgreSQL server: sudo apt-get install postgresql)")
else
  PGTMP=$(mktemp -d /tmp/triage-pg.XXXXXX)
  PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  PGPASS=triage-test-secret
  as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  if [ "$(id -u)" = 0 ]; then chown postgres "$PGTMP"; fi
  echo "$PGPASS" > "$PGTMP/pwfile"
  if [ "$(id -u)" = 0 ]; then chown postgres "$PGTMP/pwfile"; fi
  stop_pg() { as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PGTMP"; }
  trap stop_pg EXIT
  as_pg "$PGBIN/initdb" -D "$PGTMP/data" -U postgres --pwfile="$PGTMP/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w \
    -o "-p $PGPORT -k $PGTMP -c listen_addresses=127.0.0.1 -c max_connections=400" start >/dev/null
  echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') running on 127.0.0.1:$PGPORT (data in $PGTMP)"
  export TRIAGE_TEST_POSTGRES_URL="postgres://postgres:$PGPASS@127.0.0.1:$PGPORT/postgres"
  cargo test --test integration
  unset TRIAGE_TEST_POSTGRES_URL
  stop_pg
  trap - EXIT
fi

if [ -x scripts/browser-tests.sh ]; then
  say "browser tests (headless Chromium)"
  scripts/browser-tests.sh
fi

say "Debian package (build, install as root, the service answers /readyz)"
scripts/package-test.sh

say "log scan (no secret or name in any log line of the run)"
python3 scripts/scan-logs.py "$TRIAGE_TEST_LOG_DIR"

if [ ${#not_run[@]} -gt 0 ]; then
  printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
  for n in "${not_run[@]}"; do printf '!!! NOT RUN: %s\n' "$n"; done
  printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
  exit 3
fi
say "all tests passed (SQLite and PostgreSQL)"
