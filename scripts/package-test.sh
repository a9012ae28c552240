#!/usr/bin/env bash
# The Debian package, built and installed for real (the README's test
# command runs this as root):
#   1. cargo deb (installs cargo-deb first if missing): the release binary,
#      the systemd unit, /etc/default/triage, /etc/triage/hospital.toml
#   2. dpkg -i as root: the triage user and /var/lib/triage are made, the
#      unit installed and enabled
#   3. the service started as its unit says — by systemctl where systemd
#      runs; otherwise (a container) the unit's own User/Group,
#      WorkingDirectory, EnvironmentFile and ExecStart are read from the
#      installed unit and run so (systemd's sandboxing options are not
#      applied there) — and /readyz must answer ready
#   4. SIGTERM: it stops gracefully (exit 0); dpkg --purge removes the
#      package and keeps /var/lib/triage and the triage user
#   5. what the test itself made (/var/lib/triage, when it was not there
#      before) is removed after that check, so the next run installs on a
#      clean machine again (a database left by an earlier run would be an
#      upgrade, held back in working hours)
# A step that cannot run fails the script; nothing is reported as passed
# that did not run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "NOT RUN: the package test installs a package and needs root" >&2
  exit 3
fi
for tool in dpkg dpkg-shlibdeps deb-systemd-helper useradd setpriv curl; do
  if ! command -v "$tool" >/dev/null; then
    apt-get install -y -qq dpkg-dev init-system-helpers passwd curl >/dev/null 2>&1 || true
  fi
  command -v "$tool" >/dev/null || { echo "NOT RUN: $tool is missing" >&2; exit 3; }
done
if ! command -v cargo-deb >/dev/null; then
  echo "installing cargo-deb"
  cargo install --locked --quiet cargo-deb
fi

echo "== cargo deb"
cargo deb --quiet 2>&1 | tail -n 3
DEB=$(ls -t target/debian/triage_*.deb | head -n 1)
echo "built $DEB ($(du -h "$DEB" | cut -f1))"
dpkg-deb --info "$DEB" | sed -n 's/^ \(Package\|Version\|Depends\):/  \1:/p'

cleanup() {
  if [ -n "${PID:-}" ] && kill -0 "$PID" 2>/dev/null; then kill -TERM "$PID" || true; fi
  [ "$(sha256sum /etc/triage/server.key)" = "$KEYSUM" ] || { echo "FAIL: the server key changed while serving" >&2; exit 1; }
dpkg --purge triage >/dev/null 2>&1 || true
if [ "${MADE_DATA:-0}" = 1 ]; then rm -rf /var/lib/triage; fi
}
trap cleanup EXIT

echo "== dpkg -i"
MADE_DATA=0
[ -e /var/lib/triage ] || MADE_DATA=1
if dpkg -s triage >/dev/null 2>&1; then
  echo "NOT RUN: a triage package is installed on this machine; the test would replace it" >&2
  exit 3
fi
# What the package depends on (pg_dump and pg_restore for PostgreSQL
# backups), as apt would bring it.
if ! dpkg -s postgresql-client >/dev/null 2>&1; then
  echo "installing the package's dependency postgresql-client (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null
fi
dpkg -i "$DEB"
dpkg -s triage | grep -q '^Depends:.*postgresql-client' || { echo "FAIL: the package does not depend on postgresql-client" >&2; exit 1; }
dpkg -s triage | grep -q '^Recommends:.*espeak-ng' || { echo "FAIL: the package does not recommend espeak-ng" >&2; exit 1; }
getent passwd triage >/dev/null || { echo "FAIL: no triage user" >&2; exit 1; }
[ -d /var/lib/triage ] || { echo "FAIL: no /var/lib/triage" >&2; exit 1; }
UNIT=$(dpkg -L triage | grep -E '/systemd/system/triage\.service$' | head -n 1)
[ -n "$UNIT" ] || { echo "FAIL: the package has no triage.service" >&2; exit 1; }
[ -L /etc/systemd/system/multi-user.target.wants/triage.service ] || { echo "FAIL: the unit is not enabled" >&2; exit 1; }
grep -q '^Environment=TRIAGE_SERVER_KEY_FILE=/etc/triage/server.key' "$UNIT" || { echo "FAIL: the unit does not name the server key" >&2; exit 1; }
[ -f /usr/share/doc/triage/emergency-plan.zh.md ] || { echo "FAIL: the package does not carry the emergency plan (应急预案)" >&2; exit 1; }
grep -q '^admin_totp = true' /etc/triage/hospital.toml || { echo "FAIL: the installed configuration is not the production one" >&2; exit 1; }
[ "$(stat -c '%U %a' /etc/triage/server.key)" = "triage 600" ] || { echo "FAIL: /etc/triage/server.key is not the triage user's alone (mode 0600)" >&2; exit 1; }
KEYSUM=$(sha256sum /etc/triage/server.key)
/usr/bin/triage --version
/usr/bin/triage check-config /etc/triage/hospital.toml | tail -n 1

LOG="${TRIAGE_TEST_LOG_DIR:-/tmp}/package-serve.log"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ -d /run/systemd/system ]; then
  echo "== systemctl start triage (on port $PORT)"
  sed -i "s/^TRIAGE_BIND=.*/TRIAGE_BIND=127.0.0.1:$PORT/" /etc/default/triage
  systemctl restart triage
else
  echo "== no systemd here (a container): running the unit's ExecStart as the unit says (on port $PORT)"
  key() { sed -n "s/^$1=//p" "$UNIT" | head -n 1; }
  USER_=$(key User); GROUP_=$(key Group); DIR=$(key WorkingDirectory); ENVF=$(key EnvironmentFile); EXEC=$(key ExecStart)
  echo "   User=$USER_ Group=$GROUP_ WorkingDirectory=$DIR EnvironmentFile=$ENVF ExecStart=$EXEC"
  (
    cd "$DIR"
    set -a; . "$ENVF"; set +a
    # The unit's own Environment= lines, as systemd sets them.
    for kv in $(sed -n 's/^Environment=//p' "$UNIT"); do export "$kv"; done
    export TRIAGE_BIND="127.0.0.1:$PORT"
    # setpriv execs (no child process): the PID below is the server itself.
    exec setpriv --reuid="$USER_" --regid="$GROUP_" --init-groups -- $EXEC
  ) > "$LOG" 2>&1 &
  PID=$!
fi

ready=""
for _ in $(seq 1 60); do
  if out=$(curl -fsS "http://127.0.0.1:$PORT/readyz" 2>/dev/null); then ready=$out; break; fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  echo "FAIL: the installed service did not answer /readyz" >&2
  cat "$LOG" 2>/dev/null | tail -n 20 >&2 || true
  exit 1
fi
echo "/readyz: $ready"
echo "$ready" | grep -q '"status":"ready"' || { echo "FAIL: not ready" >&2; exit 1; }
[ -f /var/lib/triage/triage.sqlite ] || { echo "FAIL: no database in /var/lib/triage" >&2; exit 1; }
[ "$(stat -c %U /var/lib/triage/triage.sqlite)" = triage ] || { echo "FAIL: the database is not the triage user's" >&2; exit 1; }

if [ -n "${PID:-}" ]; then
  kill -TERM "$PID"
  if wait "$PID"; then echo "stopped gracefully (exit 0)"; else echo "FAIL: exit $? on SIGTERM" >&2; exit 1; fi
  PID=""
else
  systemctl stop triage
  [ "$(systemctl show -p ExecMainStatus --value triage)" = 0 ] || { echo "FAIL: the service did not exit 0" >&2; exit 1; }
fi
[ "$(sha256sum /etc/triage/server.key)" = "$KEYSUM" ] || { echo "FAIL: the server key changed while serving" >&2; exit 1; }
dpkg --purge triage >/dev/null
[ -f /var/lib/triage/triage.sqlite ] || { echo "FAIL: purging removed the data" >&2; exit 1; }
getent passwd triage >/dev/null || { echo "FAIL: purging removed the triage user who owns the data" >&2; exit 1; }
echo "purged; /var/lib/triage and the triage user kept"
trap - EXIT
if [ "$MADE_DATA" = 1 ]; then
  rm -rf /var/lib/triage
  echo "removed /var/lib/triage, which this test made"
fi
echo "package test passed"
