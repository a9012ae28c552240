#!/usr/bin/env python3
"""Scans every log line of a test run for what must never be logged.

Usage: scripts/scan-logs.py DIR

DIR (TRIAGE_TEST_LOG_DIR of the test command) holds the run's log files
(*.log: the integration suite's in-process servers, the `triage serve`
processes of the durability and browser tests) and secrets.txt: every
password, API key, screen token, session id, CSRF token, TOTP secret and
patient name the tests made, one per line.

A log line fails the scan when it carries
  - any of those secrets or names;
  - an API key (tk_<12 hex>_...), a session cookie (triage_session=...),
    an Argon2 hash ($argon2...), a 256-bit random secret (43 characters of
    Base64url, how keys, tokens and session ids are made);
  - an 18-character resident ID number or a mainland mobile number;
  - Chinese text that is not the product's own: a run of Chinese characters
    must occur in the server's source (src/, actors/src/: its fixed error
    messages) or the hospital files (config/: department and room names).
    Patients' and staff members' names are neither.
A run with too few log lines fails too: the scan must have seen the run.
Found values are shown masked, never in full.
"""

import pathlib
import re
import sys
import urllib.parse

MIN_LINES = 1000

PATTERNS = {
    "API key": re.compile(r"tk_[0-9a-f]{12}_[A-Za-z0-9_-]{8,}"),
    "session cookie": re.compile(r"triage_session=[A-Za-z0-9_-]{8,}"),
    "Argon2 hash": re.compile(r"\$argon2(id|i|d)\$"),
    "random secret": re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"),
    # Standing alone: not inside a hex string (request ids are UUIDs).
    "ID number": re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"),
    "mobile number": re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])"),
}


ANSI = re.compile(r"\x1b\[[0-9;]*m")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


def vocabulary(repo: pathlib.Path) -> set:
    """The product's own Chinese words: every run in its source and
    hospital files (a run in a log line must be part of one of them)."""
    texts = []
    for pattern in ("src/**/*.rs", "actors/src/**/*.rs", "config/*.toml"):
        for path in repo.glob(pattern):
            text = path.read_text(encoding="utf-8", errors="replace")
            # Unit tests (a module's tail) and comments hold example
            # patient names, not product text.
            code = text.split("#[cfg(test)]")[0]
            texts.append("\n".join(l for l in code.splitlines() if not l.lstrip().startswith("//")))
    return {run for t in texts for run in CJK.findall(t)}


def ours(run: str, words: set, known: str) -> bool:
    """Whether a run is the product's own text: a whole word of it, part of
    one, or words of two or more characters joined (a message composed
    at run time, 诊室 + 暂停叫号)."""
    if run in words or run in known:
        return True
    n = len(run)
    ok = [True] + [False] * n
    for end in range(1, n + 1):
        for start in range(0, end - 1):
            if ok[start] and run[start:end] in words:
                ok[end] = True
                break
    return ok[n]


def mask(value: str) -> str:
    if len(value) <= 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = pathlib.Path(sys.argv[1])
    logs = sorted(root.glob("*.log"))
    secrets_file = root / "secrets.txt"
    secrets = set()
    if secrets_file.exists():
        for line in secrets_file.read_text(encoding="utf-8").splitlines():
            s = line.strip()
            # Short ASCII values (a name like "A") would match anything.
            if len(s) >= 6 or (s and not s.isascii() and len(s) >= 2):
                secrets.add(s)
    repo = pathlib.Path(__file__).resolve().parent.parent
    words = vocabulary(repo)
    known = "\n".join(sorted(words))
    lines = 0
    found = []
    for log in logs:
        with log.open(encoding="utf-8", errors="replace") as f:
            for n, raw in enumerate(f, 1):
                lines += 1
                # Colour codes removed; percent-encoded paths and queries
                # read as sent.
                plain = ANSI.sub("", raw)
                line = plain + "\n" + urllib.parse.unquote(plain)
                for s in secrets:
                    if s in line:
                        found.append((log.name, n, "a secret or name a test made", mask(s)))
                for what, pattern in PATTERNS.items():
                    for m in pattern.finditer(line):
                        found.append((log.name, n, what, mask(m.group(0))))
                for run in set(CJK.findall(line)):
                    if not ours(run, words, known):
                        found.append((log.name, n, "Chinese text not the product's own", mask(run)))
    print(
        f"log scan: {lines} lines in {len(logs)} files, "
        f"{len(secrets)} secrets and names looked for"
    )
    if lines < MIN_LINES:
        print(f"log scan FAILED: only {lines} log lines (at least {MIN_LINES} expected): "
              "the tests did not log where the scan looks")
        return 1
    if found:
        for name, n, what, shown in found[:50]:
            print(f"  {name}:{n}: {what}: {shown}")
        print(f"log scan FAILED: {len(found)} findings")
        return 1
    print("log scan: nothing found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
