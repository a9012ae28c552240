#!/usr/bin/env bash
# The API document against the server, by Schemathesis (pinned; installed
# from PyPI when missing): every operation of the served OpenAPI document,
# generated cases with all checks, authenticated as a HIS client with every
# scope, against the demo hospital with its simulation running (real rooms,
# queues, doctors, visits and screens). Zero failures, or this fails.
#
#   scripts/api-fuzz.sh [path/to/triage]      (default: target/debug/triage)
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

KEY=$("$BIN" client add --demo --database-url "$DB" --name api-fuzz \
  --scopes registrations,master_data,calling,read,results --rate 1000000 2>/dev/null \
  | sed -n 's/^API key.*: \(tk_[A-Za-z0-9_-]*\)$/\1/p')
[ -n "$KEY" ] || { echo "no API key from 'triage client add'" >&2; exit 1; }
# An account the staff pass may disable, enable and reset (not its own).
echo "Triage-Test-2026!" | "$BIN" user add --demo --database-url "$DB" --code fuzz-nurse \
  --name 测试护士 --role nurse --scope NK --password-stdin >/dev/null

# Logs into the test log directory when there is one (the log scan reads
# them: no name or key may appear), else into the temporary directory.
LOG="${TRIAGE_TEST_LOG_DIR:-$TMP}/api-fuzz-serve.log"
TRIAGE_LOG=info "$BIN" serve --demo --database-url "$DB" --bind "127.0.0.1:$PORT" \
  --simulation-tick 0.5 >"$TMP/serve.out" 2>>"$LOG" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "the server did not start" >&2; tail -20 "$LOG" >&2; exit 1; }
sleep 3   # the simulation registers, checks in and calls its first patients

BASE="http://127.0.0.1:$PORT"
# A visit, an appointment and a report of our own for the path names
# (schemathesis.toml reads them from the environment).
api() { curl -fsS -X "$1" "$BASE$2" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' ${3:+--data "$3"} >/dev/null; }
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
export FUZZ_VISIT=FUZZ-V1 FUZZ_APPOINTMENT=FUZZ-A1 FUZZ_REPORT=FUZZ-R1 FUZZ_DATE=$(TZ=Asia/Shanghai date +%Y-%m-%d)
api PUT /api/v1/registrations/$FUZZ_VISIT "{\"patient\":{\"id\":\"P-FUZZ\",\"name\":\"测试患者\",\"sex\":\"1\"},\"department_code\":\"NK\",\"visit_type\":\"first\",\"registered_at\":\"$NOW\",\"checked_in\":true}"
api PUT /api/v1/appointments/$FUZZ_APPOINTMENT "{\"version\":1,\"room_code\":\"NK-02\",\"slot\":{\"start\":\"$NOW\",\"end\":\"$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)\"},\"booked_at\":\"$NOW\",\"patient\":{\"id\":\"P-FUZZ2\",\"name\":\"测试预约\",\"sex\":\"2\"}}"
api PUT /api/v1/results/$FUZZ_REPORT "{\"visit_no\":\"$FUZZ_VISIT\",\"item_code\":\"CT\",\"item_name\":\"CT\",\"findings\":\"无\",\"conclusion\":\"无\",\"reporter\":\"D1002\",\"reported_at\":\"$NOW\",\"status\":\"final\",\"images\":[]}"

# Two passes over the whole document, each with zero failures: as a HIS
# client with every scope, then as the demo administrator (a staff
# session: the operations a HIS client may not call). The staff pass
# leaves out logging in and out (they would end its own session); the
# first pass covers them.
# Each pass names its credentials for its own security scheme of the
# document (else Schemathesis makes up the other one, and an API key header
# it invents would be read before the session cookie).
run_st() {
  local scheme=$1 field=$2 value=$3; shift 3
  { cat schemathesis.toml; printf '\n[auth.openapi.%s]\n%s = "%s"\n' "$scheme" "$field" "$value"; } >"$TMP/pass.toml"
  st --no-color --config-file "$TMP/pass.toml" run "$BASE/api/v1/openapi.json" --url "$BASE" \
    --checks all --max-examples "${FUZZ_EXAMPLES:-20}" --workers "${FUZZ_WORKERS:-1}" \
    --seed "${FUZZ_SEED:-20261129}" "$@"
}
echo "== pass 1: a HIS client"
run_st his_key bearer "$KEY"

echo "== pass 2: the demo administrator (staff session)"
SESSION=$(python3 - "$BASE" "$TMP/demo-credentials.json" <<'PY'
import json, sys, urllib.request
base, kept = sys.argv[1], json.load(open(sys.argv[2]))
password = next(a[2] for a in kept["accounts"] if a[0] == "admin")
req = urllib.request.Request(base + "/api/v1/session", method="POST",
    data=json.dumps({"code": "admin", "password": password}).encode(),
    headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req) as r:
    cookie = r.headers["Set-Cookie"].split(";")[0]
    print(cookie, json.load(r)["csrf_token"])
PY
)
COOKIE=${SESSION% *}; CSRF=${SESSION#* }
run_st staff_session api_key "${COOKIE#*=}" -H "X-CSRF-Token: $CSRF" \
  --exclude-path /api/v1/session --exclude-path /api/v1/session/password
