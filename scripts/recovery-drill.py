#!/usr/bin/env python3
"""Recovery drill (恢复演练), timed: a database with N visits (default
1,000,000, over 250 past days, with one audit record each) is backed up,
verified, destroyed, restored with `triage restore`, and a server is started
on it until /readyz answers ready. Prints each step's time; the total from
"database lost" to "ready" is what the hospital's 4-hour bound is about.

    python3 scripts/recovery-drill.py [--visits N] [--binary target/release/triage]

SQLite (the embedded default). Figures go to docs/performance.md.
"""
import argparse
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


def step(name, f):
    t0 = time.monotonic()
    out = f()
    dt = time.monotonic() - t0
    print(f"{name:<44} {dt:8.1f} s", flush=True)
    return out, dt


def run(binary, *args):
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAILED: triage {' '.join(args)}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def populate(path, n, days):
    rnd = random.Random(2026)
    c = sqlite3.connect(path)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=OFF")
    today = datetime.now(timezone.utc).date()
    per_day = max(1, n // days)
    depts = ["NK", "WK", "EK"]
    v = 0
    for d in range(days, 0, -1):
        day = today - timedelta(days=d)
        rows, events = [], []
        count = per_day if d > 1 else n - v
        for i in range(count):
            if v >= n:
                break
            v += 1
            dept = depts[v % 3]
            name = rnd.choice(SURNAMES) + rnd.choice(GIVEN) + (rnd.choice(GIVEN) if v % 2 else "")
            reg = datetime(day.year, day.month, day.day, 0, 30) + timedelta(seconds=rnd.randint(0, 8 * 3600))
            checked = reg + timedelta(minutes=rnd.randint(1, 30))
            called = checked + timedelta(minutes=rnd.randint(1, 60))
            finished = called + timedelta(minutes=rnd.randint(3, 15))
            status = "finished" if v % 33 else "no_show"
            visit_no = f"D{day.strftime('%y%m%d')}{i:06d}"
            body = json.dumps({
                "patient": {"id": f"P{v:09d}", "name": name, "sex": str(1 + v % 2), "birth_date": "1970-01-01"},
                "department_code": dept, "doctor_code": None, "visit_type": "first",
                "registered_at": reg.isoformat() + "Z", "appointment": None, "special": [],
                "exam_items": [], "checked_in": True, "sequence_no": i + 1,
            }, ensure_ascii=False)
            ts = lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")
            rows.append((
                visit_no, f"P{v:09d}", name, str(1 + v % 2), "1970-01-01", dept, None, "first",
                ts(reg), "[]", "[]", body, status, dept, f"A{i + 1:05d}", str(day), i + 1, 0,
                "normal", "[]", ts(checked), ts(called) if status == "finished" else None,
                f"{dept}-0{1 + v % 3}" if status == "finished" else None, 1 if status == "finished" else 0,
                "normal", ts(finished) if status == "finished" else None, "D1001", ts(reg), ts(finished),
                0, ts(checked), 0, '{"added":[],"removed":[]}',
                None if status == "finished" else "no_show",
            ))
            events.append((ts(finished), "finished" if status == "finished" else "day_closed",
                           "D1001", "room", visit_no, f"{dept}-01", dept, "{}"))
        c.executemany(
            "INSERT INTO visits (visit_no, patient_id, patient_name, sex, birth_date, department_code, "
            "doctor_code, visit_type, registered_at, special, exam_items, body, status, queue_code, "
            "ticket_no, service_date, seq, queue_mark, entry_kind, tags, checked_in_at, called_at, "
            "room_code, call_count, placement, finished_at, performer, created_at, updated_at, "
            "miss_count, marked_at, held, special_staff, closed_as) VALUES "
            "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        c.executemany(
            "INSERT INTO events (at, kind, operator, source, visit_no, room_code, queue_code, detail) "
            "VALUES (?,?,?,?,?,?,?,?)",
            events,
        )
        c.execute(
            "INSERT INTO day_closures (service_date, closed_at, operator, not_seen, missed_unreturned, exam_unreturned) "
            "VALUES (?,?,?,?,?,?)",
            (str(day), f"{day} 23:00:00", "system", 0, 0, 0),
        )
        c.commit()
    # The generated audit records are not hash-chained: they stand for
    # records from before the chain, as the migration that introduced the
    # chain records them (the chain starts after them).
    c.execute("DELETE FROM audit_legacy")
    c.execute("INSERT INTO audit_legacy (through_id, records) SELECT MAX(id), COUNT(*) FROM events")
    c.commit()
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    return v


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--visits", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=250)
    ap.add_argument("--binary", default="target/release/triage")
    ap.add_argument("--keep", action="store_true", help="keep the drill's directory")
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    work = tempfile.mkdtemp(prefix="triage-drill-")
    db = os.path.join(work, "triage.sqlite")
    url = f"sqlite://{db}"
    backups = os.path.join(work, "backups")
    print(f"recovery drill in {work}: {a.visits:,} visits over {a.days} days, {binary}")
    step("migrate an empty database", lambda: run(binary, "migrate", "--database-url", url))
    n, _ = step(f"populate ({a.visits:,} visits + audit records)", lambda: populate(db, a.visits, a.days))
    size = os.path.getsize(db)
    print(f"database: {size / 1e6:,.0f} MB, {n:,} visits")
    out, t_backup = step("triage backup", lambda: run(binary, "backup", "--database-url", url, "--dir", backups))
    backup = out.split(" written to ")[1].split(" (")[0]
    _, t_verify = step("triage backup verify", lambda: run(binary, "backup", "verify", backup, "--dir", backups))

    # The fault: the database is gone.
    for f in os.listdir(work):
        if f.startswith("triage.sqlite"):
            os.remove(os.path.join(work, f))
    lost = time.monotonic()
    _, t_restore = step("triage restore (checked, migrated)", lambda: run(binary, "restore", backup, "--database-url", url))
    port = free_port()
    log = open(os.path.join(work, "serve.log"), "w")
    t0 = time.monotonic()
    server = subprocess.Popen(
        [binary, "serve", "--demo", "--no-simulation", "--database-url", url, "--bind", f"127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, cwd=work,
    )
    ready = None
    while time.monotonic() - t0 < 600:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                body = json.loads(r.read())
                if body.get("status") == "ready":
                    ready = time.monotonic()
                    break
        except Exception:
            time.sleep(0.1)
    server.terminate()
    server.wait(timeout=20)
    if ready is None:
        sys.exit("FAILED: the restored server did not become ready within 10 minutes")
    t_start = ready - t0
    print(f"{'start the server until /readyz is ready':<44} {t_start:8.1f} s")
    total = ready - lost
    print(f"{'database lost → service ready (restore + start)':<44} {total:8.1f} s")
    print(f"backup {t_backup:.1f} s, verify {t_verify:.1f} s, restore {t_restore:.1f} s, start {t_start:.1f} s; "
          f"bound: 4 h (14,400 s)")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
