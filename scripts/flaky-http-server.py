#!/usr/bin/env python3
"""A file server for the retry tests: answers 503 to the first request for each path, then
serves the file (GET with single Range support: bytes=a-b, bytes=a-, bytes=-n; HEAD).

    flaky-http-server.py PORT DIR LOG

Binds 127.0.0.1 only. LOG gets one line per request: METHOD STATUS BODY_BYTES PATH.
Stops by itself after 30 minutes, so a test that dies cannot leave it running for long.
"""
import http.server
import os
import sys
import threading
import urllib.parse

PORT, ROOT, LOG = int(sys.argv[1]), os.path.realpath(sys.argv[2]), sys.argv[3]
LIFETIME_S = 30 * 60
seen = set()
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, status, n):
        with lock, open(LOG, "a") as f:
            f.write(f"{self.command} {status} {n} {self.path}\n")

    def reply(self, status, headers, body=b""):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.record(status, 0 if self.command == "HEAD" else len(body))

    def handle_any(self):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        with lock:
            first = path not in seen
            seen.add(path)
        if first:
            return self.reply(503, {"Content-Type": "text/plain", "Retry-After": "0"}, b"injected 503\n")
        full = os.path.realpath(os.path.join(ROOT, path.lstrip("/")))
        if not full.startswith(ROOT + os.sep) or not os.path.isfile(full):
            return self.reply(404, {"Content-Type": "text/plain"}, b"not found\n")
        with open(full, "rb") as f:
            data = f.read()
        size = len(data)
        rng = self.headers.get("Range")
        if not rng or not rng.startswith("bytes=") or "," in rng:
            if self.command == "HEAD":
                return self.reply(200, {"Content-Length": str(size)})
            return self.reply(200, {"Content-Type": "application/octet-stream"}, data)
        lo_text, _, hi_text = rng[len("bytes="):].partition("-")
        try:
            if lo_text == "":
                n = int(hi_text)
                lo, hi = max(0, size - n), size - 1
            else:
                lo = int(lo_text)
                hi = min(int(hi_text), size - 1) if hi_text else size - 1
        except ValueError:
            return self.reply(400, {"Content-Type": "text/plain"}, b"bad range\n")
        if lo >= size or hi < lo:
            return self.reply(416, {"Content-Range": f"bytes */{size}"})
        return self.reply(206, {"Content-Type": "application/octet-stream", "Content-Range": f"bytes {lo}-{hi}/{size}"},
                          data[lo:hi + 1])

    do_GET = handle_any
    do_HEAD = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
server.daemon_threads = True
threading.Timer(LIFETIME_S, server.shutdown).start()
server.serve_forever()
