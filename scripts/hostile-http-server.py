#!/usr/bin/env python3
"""A misbehaving HTTP server for the remote-store fault tests. The first path segment picks
what it does; the rest names a file under DIR where one is needed.

    hostile-http-server.py DIR PORT_FILE [LIFETIME_S]

Binds 127.0.0.1 on a free port and writes the port to PORT_FILE. Stops by itself after
LIFETIME_S seconds (default 120), so a test that dies cannot leave it running for long; every
endless body also stops at that point.

    /files/P          the file, with single Range support (206, 416) and HEAD
    /norange/P        the file, ignoring Range (200 and the whole body, like python3 -m http.server)
    /shiftrange/P     the file; a ranged GET gets a 206 whose bytes start one byte late (a wrong answer)
    /trickle/P        200 with Content-Length 1000, then one byte every 0.2 s
    /stall/P          200 with Content-Length 1000, 10 bytes, then silence (the connection stays open)
    /endless/P        200 without Content-Length, an endless body (the connection closes it)
    /endless206/P     206 to a ranged GET, an endless body without Content-Length
    /biglength/P      200 with Content-Length 1 TiB, then an endless body
    /gzip/P           the file gzip-compressed, with Content-Encoding: gzip (whatever was asked)
    /redirect-file/P  302 to file:///DIR/P
    /redirect-ftp/P   302 to ftp://127.0.0.1/P
    /redirect-none/P  302 without a Location
    /redirect-stall/P 302 to /stall/P (on this server)
    /s3loop/...       S3 ListObjectsV2 whose continuation tokens alternate A, B, A, ...
    /s3fresh/...      S3 ListObjectsV2 that is always truncated, each page with a new token
"""
import gzip
import http.server
import os
import signal
import sys
import threading
import time
import urllib.parse

ROOT, PORT_FILE = os.path.realpath(sys.argv[1]), sys.argv[2]
LIFETIME_S = float(sys.argv[3]) if len(sys.argv) > 3 else 120.0
STARTED = time.monotonic()


def alive():
    return time.monotonic() - STARTED < LIFETIME_S


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, headers, body=b""):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def file(self, rest):
        full = os.path.realpath(os.path.join(ROOT, rest))
        if not full.startswith(ROOT + os.sep) or not os.path.isfile(full):
            return None
        with open(full, "rb") as f:
            return f.read()

    def stream(self, chunk, pause=0.0, limit=None):
        sent = 0
        try:
            while alive() and (limit is None or sent < limit):
                piece = chunk if limit is None else chunk[: limit - sent]
                self.wfile.write(piece)
                self.wfile.flush()
                sent += len(piece)
                if pause:
                    time.sleep(pause)
        except OSError:
            pass
        self.close_connection = True

    def handle_any(self):
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path).lstrip("/")
        mode, _, rest = path.partition("/")
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        if mode in ("files", "norange", "shiftrange"):
            data = self.file(rest)
            if data is None:
                return self.reply(404, {"Content-Type": "text/plain"}, b"not found\n")
            rng = self.headers.get("Range")
            if mode == "norange" or not rng or not rng.startswith("bytes=") or "," in rng:
                if self.command == "HEAD":
                    return self.reply(200, {"Content-Length": str(len(data))})
                return self.reply(200, {"Content-Type": "application/octet-stream"}, data)
            size = len(data)
            lo_text, _, hi_text = rng[len("bytes="):].partition("-")
            if lo_text == "":
                lo, hi = max(0, size - int(hi_text)), size - 1
            else:
                lo = int(lo_text)
                hi = min(int(hi_text), size - 1) if hi_text else size - 1
            if lo >= size or hi < lo:
                return self.reply(416, {"Content-Range": f"bytes */{size}"})
            shift = 1 if mode == "shiftrange" else 0
            return self.reply(206, {"Content-Range": f"bytes {lo}-{hi}/{size}"}, data[lo + shift:hi + 1 + shift])
        if mode == "trickle":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            if self.command != "HEAD":
                self.stream(b"{", pause=0.2, limit=1000)
            return
        if mode == "stall":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(b"{" * 10)
                self.wfile.flush()
                while alive():
                    time.sleep(0.2)
            self.close_connection = True
            return
        if mode in ("endless", "biglength", "endless206"):
            status = 206 if mode == "endless206" and self.headers.get("Range") else 200
            self.send_response(status)
            if mode == "biglength":
                self.send_header("Content-Length", str(1 << 40))
            else:
                self.send_header("Connection", "close")
            if status == 206:
                self.send_header("Content-Range", "bytes 0-1099511627775/1099511627776")
            self.end_headers()
            if self.command != "HEAD":
                self.stream(b" " * 65536)
            self.close_connection = True
            return
        if mode == "gzip":
            data = self.file(rest)
            if data is None:
                return self.reply(404, {"Content-Type": "text/plain"}, b"not found\n")
            packed = gzip.compress(data)
            return self.reply(200, {"Content-Encoding": "gzip", "Content-Length": str(len(packed))}, packed)
        if mode == "redirect-file":
            return self.reply(302, {"Location": "file://" + os.path.join(ROOT, rest)})
        if mode == "redirect-ftp":
            return self.reply(302, {"Location": "ftp://127.0.0.1/" + rest})
        if mode == "redirect-stall":
            return self.reply(302, {"Location": "/stall/" + rest})
        if mode == "redirect-none":
            return self.reply(302, {})
        if mode in ("s3loop", "s3fresh") and "list-type" in query:
            token = query.get("continuation-token", [""])[0]
            if mode == "s3loop":
                following = "B" if token == "A" else "A"
            else:
                following = str(int(token or "0") + 1)
            body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                    f"<Name>b</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>"
                    f"<IsTruncated>true</IsTruncated><NextContinuationToken>{following}</NextContinuationToken>"
                    f"<Contents><Key>k{following}</Key><Size>1</Size></Contents></ListBucketResult>").encode()
            return self.reply(200, {"Content-Type": "application/xml"}, body)
        return self.reply(404, {"Content-Type": "text/plain"}, b"unknown mode\n")

    do_GET = handle_any
    do_HEAD = handle_any


# A parent may start us with signals blocked (Foundation's Process does): stop on SIGTERM anyway.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
threading.Timer(LIFETIME_S, server.shutdown).start()
server.serve_forever()
