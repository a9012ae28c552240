#!/usr/bin/env python3
"""Prints every function of ground/, actors/ and src/ longer than 100 lines
(outside tests), longest first, and fails when there are more than the
house allows (8): a function that needs a scroll bar names its phases as
functions instead (docs/STYLE rule 13).

    scripts/long-functions.py [--limit N] [--max-count M]

A function is counted from its `fn` line to its closing brace; `#[cfg(test)]`
modules and files under tests/ are left out.
"""
import argparse
import os
import re
import sys

ROOTS = ["ground/src", "actors/src", "src"]
FN = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:const\s+)?(?:unsafe\s+)?fn\s+(\w+)")


def blank_strings_and_comments(text):
    """The text with comments and string/char literals blanked (braces in
    them do not count), lines kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 8]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            close = '"' + m.group(1)
            j = text.find(close, i + len(m.group(0)))
            j = n if j < 0 else j + len(close)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]):
            m = re.match(r"'(\\.|[^\\'])'", text[i:i + 4])
            out.append(" " * len(m.group(0)))
            i += len(m.group(0))
        elif c == "'" and text.startswith("'\\u{", i):
            j = text.find("'", i + 1) + 1
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def test_spans(lines):
    """Line ranges of #[cfg(test)] modules."""
    spans, i = [], 0
    while i < len(lines):
        if lines[i].strip().startswith("#[cfg(test)]"):
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and re.match(r"\s*(pub\s+)?mod\s+\w+\s*\{", lines[j]):
                depth, k = 0, j
                while k < len(lines):
                    depth += lines[k].count("{") - lines[k].count("}")
                    if depth == 0 and "{" in "".join(lines[j:k + 1]):
                        break
                    k += 1
                spans.append((i, k))
                i = k
        i += 1
    return spans


def functions(path):
    text = open(path, encoding="utf-8").read()
    lines = blank_strings_and_comments(text).split("\n")
    tests = test_spans(lines)
    found = []
    for i, line in enumerate(lines):
        m = FN.match(line)
        if not m or any(a <= i <= b for a, b in tests):
            continue
        # The body starts at the first `{` after the signature (a `;`
        # first: a declaration without a body).
        depth, started, j = 0, False, i
        while j < len(lines):
            for ch in lines[j]:
                if ch == ";" and not started and depth == 0:
                    break
                if ch == "{":
                    depth += 1
                    started = True
                elif ch == "}":
                    depth -= 1
            else:
                if started and depth == 0:
                    break
                j += 1
                continue
            if not started:
                break
            j += 1
        if started:
            found.append((j - i + 1, m.group(1), path, i + 1))
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--max-count", type=int, default=8)
    args = ap.parse_args()
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    long = []
    for root in ROOTS:
        for dirpath, _, files in os.walk(os.path.join(top, root)):
            for f in files:
                if f.endswith(".rs"):
                    p = os.path.join(dirpath, f)
                    long += [x for x in functions(p) if x[0] > args.limit]
    long.sort(reverse=True)
    for n, name, path, line in long:
        print(f"{n:5} lines  {name}  {os.path.relpath(path, top)}:{line}")
    print(f"{len(long)} functions over {args.limit} lines (at most {args.max_count} allowed)")
    sys.exit(0 if len(long) <= args.max_count else 1)


if __name__ == "__main__":
    main()
