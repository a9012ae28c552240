#!/usr/bin/env python3
"""Triage 患者通知 webhook 的接收示例（医院网关一侧）。

Triage 把 patient.ahead（前面还剩 N 人）、patient.called（叫到）、
patient.missed（过号）以 Standard Webhooks 格式 POST 到 [patient] webhook_url。
本示例只用 Python 标准库，做网关必须做的三件事：

1. 验签：webhook-signature = "v1," + Base64(HMAC-SHA256(密钥, "{id}.{timestamp}.{body}"))，
   密钥为 `triage server-key webhook-secret` 打印的 whsec_…（去掉前缀后 Base64 解码）；
   时间戳与本机时间相差超过 --tolerance 秒（默认 300）的拒收（防重放）。
2. 去重：同一 webhook-id 只处理一次（Triage 至少投递一次，崩溃重启后可能重发），
   已处理的 id 记在 SQLite 文件里，重启后仍有效。
3. 处理：这里把事件写成一行 JSON（--out），真实网关在此给患者发微信模板消息或短信。

处理成功回 2xx；验签失败回 401（Triage 会按退避重试，直到两小时后放弃）。

用法：
    TRIAGE_WEBHOOK_SECRET=whsec_… python3 webhook_receiver.py --port 9090 \
        --store /var/lib/gw/triage-webhooks.sqlite --out /var/log/gw/triage-events.jsonl
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import sqlite3
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Rejected(Exception):
    """验签不通过。"""


def verify(secret, headers, body, now, tolerance=300):
    """验证一次投递；通过则返回解析后的 JSON，否则抛出 Rejected。"""
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise Rejected("缺少 webhook-id / webhook-timestamp / webhook-signature")
    try:
        sent_at = int(stamp)
    except ValueError:
        raise Rejected("webhook-timestamp 不是整数") from None
    if abs(now - sent_at) > tolerance:
        raise Rejected("时间戳超出允许范围（可能是重放）")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = msg_id.encode() + b"." + stamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return json.loads(body)
    raise Rejected("签名不符")


class Receiver:
    """验签、去重、处理。"""

    def __init__(self, secret, store, out, tolerance, clock=None):
        self.secret = secret
        self.tolerance = tolerance
        self.db = sqlite3.connect(store, check_same_thread=False)
        self.db.execute("CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, at REAL NOT NULL)")
        self.db.commit()
        self.out = open(out, "a", encoding="utf-8")
        self.lock = threading.Lock()
        # 测试时可给定一个起点（与被测服务的时钟一致），否则用本机时间。
        self.anchor = clock
        self.started = time.monotonic()

    def now(self):
        if self.anchor is None:
            return time.time()
        return self.anchor + (time.monotonic() - self.started)

    def write(self, line):
        self.out.write(json.dumps(line, ensure_ascii=False) + "\n")
        self.out.flush()

    def take(self, headers, body):
        """返回 HTTP 状态码。"""
        try:
            event = verify(self.secret, headers, body, self.now(), self.tolerance)
        except Rejected as why:
            with self.lock:
                self.write({"rejected": str(why)})
            return 401
        msg_id = headers.get("webhook-id")
        with self.lock:
            fresh = self.db.execute(
                "INSERT OR IGNORE INTO seen (id, at) VALUES (?, ?)", (msg_id, time.time())
            ).rowcount == 1
            if fresh:
                # 真实网关在此发微信模板消息或短信（可把 patient_url 放进消息）；成功后再提交去重记录。
                # 链接本身就是打开患者页面的凭据：只发给患者本人，不写入日志或文件。
                data = {k: v for k, v in (event.get("data") or {}).items()
                        if k not in ("patient_link", "patient_url")}
                data["has_link"] = "patient_link" in (event.get("data") or {})
                self.write({"id": msg_id, "type": event.get("type"), "data": data})
            else:
                self.write({"id": msg_id, "duplicate": True})
            self.db.commit()
        return 204


def serve(receiver, port):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            status = receiver.take(self.headers, body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass  # 访问日志不记内容

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=9090)
    p.add_argument("--store", required=True, help="已处理 webhook-id 的 SQLite 文件")
    p.add_argument("--out", required=True, help="处理过的事件写到这里（每行一个 JSON）")
    p.add_argument("--tolerance", type=int, default=300, help="时间戳允许偏差（秒）")
    p.add_argument("--clock", help="测试用：以此 RFC 3339 时刻为“现在”的起点")
    args = p.parse_args()
    secret = os.environ.get("TRIAGE_WEBHOOK_SECRET")
    if not secret:
        sys.exit("请在环境变量 TRIAGE_WEBHOOK_SECRET 中给出 whsec_… 密钥")
    clock = None
    if args.clock:
        clock = datetime.datetime.fromisoformat(args.clock).timestamp()
    serve(Receiver(secret, args.store, args.out, args.tolerance, clock), args.port)


if __name__ == "__main__":
    main()
