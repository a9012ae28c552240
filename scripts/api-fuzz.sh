#!/usr/bin/env bash
# The API document against the server, by Schemathesis (pinned; installed
# from PyPI when missing): every operation of the served OpenAPI document,
# every phase (examples, coverage, fuzzing, stateful), all checks, against
# the demo hospital with its simulation running (real rooms, queues,
# doctors, visits and screens), in three passes: a signing HIS client at a
# realistic rate; the administrator, /session and its own account
# included; the administrator with the path names fuzzed. A new seed each
# run, printed (FUZZ_SEED replays one). Zero failures, or this fails; the
# 422s a schema cannot rule out are listed in schemathesis.toml with why.
#
#   scripts/api-fuzz.sh [path/to/triage]      (default: target/debug/triage)
#   FUZZ_SEED=… FUZZ_PASSES="1 3" FUZZ_EXAMPLES=… scripts/api-fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SCHEMATHESIS_VERSION=4.32.5
if [ $# -ge 1 ]; then BIN=$1; else BIN=target/debug/triage; cargo build --quiet; fi

st_ok() { command -v st >/dev/null && st --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; }
if ! st_ok; then
  echo "installing Schemathesis $SCHEMATHESIS_VERSION (pip)"
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "schemathesis==$SCHEMATHESIS_VERSION"
  hash -r
fi
st_ok || { echo "NOT RUN: Schemathesis $SCHEMATHESIS_VERSION could not be installed" >&2; exit 3; }

TMP=$(mktemp -d /tmp/triage-fuzz.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DB="sqlite://$TMP/fuzz.sqlite"
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

# The server runs on a named instant (a Wednesday, 09:30 China time), as
# the tests do: nothing here depends on the host's date or hour.
export TRIAGE_CLOCK=2026-12-09T09:30:00+08:00
export FUZZ_CLOCK_EPOCH=$(python3 -c 'import datetime,os; print(datetime.datetime.fromisoformat(os.environ["TRIAGE_CLOCK"]).timestamp())')
DAY=2026-12-09
# A new seed each run unless one is given; printed so a failure replays.
SEED=${FUZZ_SEED:-$(python3 -c 'import secrets; print(secrets.randbelow(2**31))')}
echo "Schemathesis seed: $SEED (replay: FUZZ_SEED=$SEED scripts/api-fuzz.sh)"

# The demo hospital, with a login limit the fuzzer cannot exhaust: fuzzing
# POST /api/v1/session sends thousands of bad logins, and the staff passes
# must still log in (the limit itself is tested in tests/integration).
FUZZ_CONFIG="$TMP/hospital.toml"
sed 's/^\[security\]$/[security]\nlogin_per_minute = 1000000\nlockout_failures = 1000000/' \
  config/demo-hospital.toml >"$FUZZ_CONFIG"

# A signing HIS client with every scope at a realistic rate (the requests
# below stay under it), and a second administrator the staff passes log in
# as: their own account is fuzzed too.
KEY=$("$BIN" client add --config "$FUZZ_CONFIG" --database-url "$DB" --name api-fuzz \
  --scopes registrations,master_data,calling,read,results --signed --rate 3000 2>/dev/null \
  | sed -n 's/^API key.*: \(tk_[A-Za-z0-9_-]*\)$/\1/p')
[ -n "$KEY" ] || { echo "no API key from 'triage client add'" >&2; exit 1; }
export FUZZ_SIGNED_KEY=$KEY FUZZ_ADMIN=fuzz-admin FUZZ_FIRST_PASSWORD="Sweep-Probe-2026!x"
echo "$FUZZ_FIRST_PASSWORD" | "$BIN" user add --config "$FUZZ_CONFIG" --database-url "$DB" \
  --code "$FUZZ_ADMIN" --name 测试管理员 --role admin --password-stdin >/dev/null
# An account the staff passes may disable, enable and reset (not their own).
echo "Triage-Test-2026!" | "$BIN" user add --config "$FUZZ_CONFIG" --database-url "$DB" --code fuzz-nurse \
  --name 测试护士 --role nurse --scope NK --password-stdin >/dev/null

# Logs into the test log directory when there is one (the log scan reads
# them: no name or key may appear), else into the temporary directory.
LOG="${TRIAGE_TEST_LOG_DIR:-$TMP}/api-fuzz-serve.log"
TRIAGE_LOG=info "$BIN" serve --demo --config "$FUZZ_CONFIG" --database-url "$DB" --bind "127.0.0.1:$PORT" \
  --simulation-tick 0.5 >"$TMP/serve.out" 2>>"$LOG" &
SERVER_PID=$!
export FUZZ_CLOCK_MONOTONIC=$(python3 -c 'import time; print(time.monotonic())')
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "the server did not start" >&2; tail -20 "$LOG" >&2; exit 1; }
sleep 3   # the simulation registers, checks in and calls its first patients

BASE="http://127.0.0.1:$PORT"
export FUZZ_BASE=$BASE
# The department kiosk's device token (the demo made it at the start).
export FUZZ_KIOSK_TOKEN=$(python3 -c 'import json,sys; print(dict(json.load(open(sys.argv[1]))["kiosks"])["KIOSK-NK"])' "$TMP/demo-credentials.json")
# The administrator's first login changes the password it was given, as
# every new account's must.
export FUZZ_ADMIN_PASSWORD="${FUZZ_FIRST_PASSWORD}y"
python3 - <<'PY'
import json, os, urllib.request
base, code = os.environ["FUZZ_BASE"], os.environ["FUZZ_ADMIN"]
first, new = os.environ["FUZZ_FIRST_PASSWORD"], os.environ["FUZZ_ADMIN_PASSWORD"]
def call(path, body, cookie=None, csrf=None):
    h = {"Content-Type": "application/json"}
    if cookie:
        h["Cookie"], h["X-CSRF-Token"] = cookie, csrf
    req = urllib.request.Request(base + path, method="POST", data=json.dumps(body).encode(), headers=h)
    with urllib.request.urlopen(req) as r:
        return r.headers.get("Set-Cookie", "").split(";")[0], json.load(r)
cookie, s = call("/api/v1/session", {"code": code, "password": first})
assert s["must_change_password"], s
call("/api/v1/session/password", {"current_password": first, "new_password": new}, cookie, s["csrf_token"])
PY
# A visit, an appointment and a report of our own for the path names
# (schemathesis.toml reads them from the environment), signed as HIS.
api() {
  python3 - "$1" "$2" "${3:-}" <<'PY'
import os, sys, requests
sys.path.insert(0, "scripts")
from fuzz_hooks import Signer
method, path, body = sys.argv[1:4]
r = requests.request(method, os.environ["FUZZ_BASE"] + path, data=body.encode() or None,
                     headers={"Content-Type": "application/json"}, auth=Signer(os.environ["FUZZ_SIGNED_KEY"]))
assert r.status_code < 300, (r.status_code, r.text)
PY
}
NOW="${DAY}T09:30:00+08:00"
export FUZZ_VISIT=FUZZ-V1 FUZZ_APPOINTMENT=FUZZ-A1 FUZZ_REPORT=FUZZ-R1 FUZZ_DATE=$DAY
api PUT /api/v1/registrations/$FUZZ_VISIT "{\"patient\":{\"id\":\"P-FUZZ\",\"name\":\"测试患者\",\"sex\":\"1\"},\"department_code\":\"NK\",\"visit_type\":\"first\",\"registered_at\":\"$NOW\",\"checked_in\":true}"
api PUT /api/v1/appointments/$FUZZ_APPOINTMENT "{\"version\":1,\"room_code\":\"NK-02\",\"slot\":{\"start\":\"$NOW\",\"end\":\"${DAY}T11:30:00+08:00\"},\"booked_at\":\"$NOW\",\"patient\":{\"id\":\"P-FUZZ2\",\"name\":\"测试预约\",\"sex\":\"2\"}}"
api PUT /api/v1/results/$FUZZ_REPORT "{\"visit_no\":\"$FUZZ_VISIT\",\"item_code\":\"CT\",\"item_name\":\"CT\",\"findings\":\"无\",\"conclusion\":\"无\",\"reporter\":\"D1002\",\"reported_at\":\"$NOW\",\"status\":\"final\",\"images\":[]}"

# Three passes over the whole document, every phase (examples, coverage,
# fuzzing, stateful), all checks, zero failures:
#   1. a signing HIS client at a realistic rate (40 requests a second,
#      under its limit of 3,000 a minute), path names of real resources;
#   2. the administrator (a staff session), /session and its own account
#      included (logged in again whenever the run ended its session);
#   3. the administrator with the path names fuzzed too.
# Each pass sends a placeholder credential of its own security scheme
# (-H: Schemathesis then knows it as the run's, and its ignored_auth check
# removes or spoils it); the hooks (scripts/fuzz_hooks.py) sign the
# request or put the live session in its place.
# The served document (read once: the passes' credentials are made up).
curl -fsS "$BASE/api/v1/openapi.json" -o "$TMP/openapi.json"
export SCHEMATHESIS_HOOKS=fuzz_hooks PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}"
run_st() {
  local auth=$1 config=$2; shift 2
  local credentials
  case $auth in
    signed) credentials="Authorization: Bearer signed-by-the-hook" ;;
    staff) credentials="Cookie: triage_session=set-by-the-hook" ;;
  esac
  FUZZ_AUTH=$auth st --no-color --config-file "$config" run "$TMP/openapi.json" --url "$BASE" \
    -H "$credentials" \
    --checks all --max-examples "${FUZZ_EXAMPLES:-20}" --workers "${FUZZ_WORKERS:-1}" \
    --seed "$SEED" "$@"
}
# FUZZ_PASSES picks passes (all three by default; the test command runs all).
PASSES=" ${FUZZ_PASSES:-1 2 3} "
if [[ $PASSES == *" 1 "* ]]; then
  echo "== pass 1: a signing HIS client"
  run_st signed schemathesis.toml --rate-limit 40/s
fi

if [[ $PASSES == *" 2 "* ]]; then
  echo "== pass 2: the administrator (staff session, its own account and /session included)"
  run_st staff schemathesis.toml
fi

[[ $PASSES == *" 3 "* ]] || exit 0
echo "== pass 3: the administrator, path names fuzzed"
# The same exceptions without the fixed path names.
python3 - <<'PY' >"$TMP/fuzzed-paths.toml"
import re
text = open("schemathesis.toml").read()
# Sections start at a [table] or [[array]] header; drop those that fix
# path names.
parts = re.split(r"(?m)^(?=\[)", text)
print("".join(p for p in parts if not re.match(r"\[parameters\]", p) and "parameters = {" not in p))
PY
run_st staff "$TMP/fuzzed-paths.toml"
