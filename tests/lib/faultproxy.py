#!/usr/bin/env python3
"""A small HTTP proxy in front of a test registry that misbehaves on purpose.

Usage: faultproxy.py --port P --upstream http://127.0.0.1:RP --mode MODE [options]
Modes (each applies to the first --times N matching requests, -1 = all, then passes through):
  pass             forward everything (the log still records each request)
  corrupt          blob GET: flip one byte in the middle of the body
  cut              blob GET: send the headers and half the body, then close the connection
  status           matching requests get --status CODE (e.g. 500 or 429) and, with
                   --retry-after S, a Retry-After: S header
  stall            blob GET: send half the body, sleep --stall S seconds, then the rest
  redirect         blob GET: 307 to a second server on --redirect-host (another host name,
                   e.g. 127.0.0.2) serving blobs from the registry's --storage directory; it
                   answers 403 to any request that carries an Authorization header
  digest-mismatch  manifest GET/HEAD: a Docker-Content-Digest header that disagrees with the body
  big-manifest     manifest GET: the manifest padded to 5 MB (an annotation), headers to match
  evil-digest      manifest GET: the first layer's digest becomes "sha256:../../../../tmp/evil"
Blob requests are those on /v2/<name>/blobs/sha256:...; --match SUBSTR narrows the matching
requests further (default for blob modes: blobs of 1 KiB or more, i.e. layers, not configs).
Range requests are forwarded (the registry answers 206). Every request is logged to --log as
  METHOD PATH range=<Range or -> auth=<yes|no> status=<code> action=<what the proxy did>
Prints nothing; ready when the port accepts connections.
"""
import argparse
import hashlib
import http.client
import http.server
import json
import os
import re
import socket
import threading
import time
import urllib.parse

BLOB_RE = re.compile(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$")
MANIFEST_RE = re.compile(r"^/v2/(.+)/manifests/([^/]+)$")
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-authorization", "proxy-authenticate"}

args = None
lock = threading.Lock()
fired = 0


def log(line):
    if args.log:
        with lock, open(args.log, "a") as fh:
            fh.write(line + "\n")


def take():
    """True when this matching request is one of the first --times."""
    global fired
    with lock:
        if args.times >= 0 and fired >= args.times:
            return False
        fired += 1
        return True


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def note(self, status, action):
        log("%s %s range=%s auth=%s status=%s action=%s" % (
            self.command, self.path, self.headers.get("Range", "-"),
            "yes" if self.headers.get("Authorization") else "no", status, action))

    def upstream(self):
        u = urllib.parse.urlsplit(args.upstream)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        body = None
        if self.headers.get("Content-Length"):
            body = self.rfile.read(int(self.headers["Content-Length"]))
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in HOP and k.lower() != "host"}
        hdrs["Host"] = "%s:%s" % (u.hostname, u.port)
        conn.request(self.command, self.path, body=body, headers=hdrs)
        return conn, conn.getresponse()

    def send_head(self, status, headers, length):
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def simple(self, status, body=b"", headers=()):
        self.send_head(status, list(headers) + [("Content-Type", "application/json")], len(body))
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        path = urllib.parse.urlsplit(self.path).path
        blob = BLOB_RE.match(path)
        manifest = MANIFEST_RE.match(path)
        mode = args.mode
        matches = (not args.match or args.match in self.path)

        if mode == "status" and matches and (blob or manifest or args.match) and take():
            hdrs = [("Retry-After", str(args.retry_after))] if args.retry_after is not None else []
            self.note(args.status, "status")
            return self.simple(args.status, b'{"errors":[{"code":"UNAVAILABLE","message":"fault proxy"}]}', hdrs)

        if mode == "redirect" and blob and self.command in ("GET", "HEAD") and matches and take():
            loc = "http://%s:%d/cdn/%s?expires=%d" % (args.redirect_host, args.redirect_port,
                                                      blob.group(2), int(time.time()) + 600)
            self.note(307, "redirect")
            return self.simple(307, b"", [("Location", loc)])

        conn, resp = self.upstream()
        try:
            hdrs = resp.getheaders()
            if self.command == "HEAD" or resp.status >= 300 and resp.status != 304 and not manifest:
                data = resp.read()
                if mode == "digest-mismatch" and manifest and resp.status == 200 and matches and take():
                    hdrs = self.replace(hdrs, "Docker-Content-Digest", "sha256:" + "0" * 64)
                    self.note(resp.status, "digest-mismatch")
                else:
                    self.note(resp.status, "pass")
                length = int(resp.getheader("Content-Length") or len(data))
                self.send_head(resp.status, hdrs, length if self.command == "HEAD" else len(data))
                if self.command != "HEAD":
                    self.wfile.write(data)
                return

            if manifest and resp.status == 200:
                return self.manifest(resp, hdrs, matches)

            length = resp.getheader("Content-Length")
            length = int(length) if length is not None else None
            big = length is not None and length >= 1024
            if blob and resp.status in (200, 206) and mode in ("corrupt", "cut", "stall") \
                    and (matches if args.match else big) and take():
                return self.fault_blob(resp, hdrs, length)
            self.note(resp.status, "pass")
            self.send_head(resp.status, hdrs, length)
            self.copy(resp, length)
        finally:
            conn.close()

    @staticmethod
    def replace(hdrs, name, value):
        return [(k, v) for k, v in hdrs if k.lower() != name.lower()] + [(name, value)]

    def copy(self, resp, n):
        while n is None or n > 0:
            chunk = resp.read(65536 if n is None else min(65536, n))
            if not chunk:
                break
            self.wfile.write(chunk)
            if n is not None:
                n -= len(chunk)

    def manifest(self, resp, hdrs, matches):
        body = resp.read()
        mode = args.mode
        action = "pass"
        if mode in ("digest-mismatch", "big-manifest", "evil-digest") and matches and take():
            action = mode
            if mode == "digest-mismatch":
                hdrs = self.replace(hdrs, "Docker-Content-Digest", "sha256:" + "0" * 64)
            else:
                m = json.loads(body)
                if mode == "big-manifest":
                    m.setdefault("annotations", {})["org.mydock.padding"] = "x" * (5 * 1024 * 1024)
                else:
                    key = "layers" if "layers" in m else "manifests"
                    m[key][0]["digest"] = "sha256:../../../../tmp/evil"
                body = json.dumps(m).encode()
                hdrs = self.replace(hdrs, "Docker-Content-Digest", "sha256:" + hashlib.sha256(body).hexdigest())
        self.note(resp.status, action)
        self.send_head(resp.status, hdrs, len(body))
        self.wfile.write(body)

    def fault_blob(self, resp, hdrs, length):
        mode = args.mode
        self.note(resp.status, mode)
        self.send_head(resp.status, hdrs, length)
        half = (length or 0) // 2
        self.copy(resp, half)
        if mode == "cut":
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if mode == "corrupt":
            b = resp.read(1)
            self.wfile.write(bytes([b[0] ^ 0x55]) if b else b"")
            self.copy(resp, length - half - 1)
            return
        self.wfile.flush()
        time.sleep(args.stall)
        self.copy(resp, length - half)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Cdn(http.server.BaseHTTPRequestHandler):
    """The second server of the redirect mode: serves blob data from registry storage."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        auth = "yes" if self.headers.get("Authorization") else "no"
        m = re.match(r"^/cdn/sha256:([0-9a-f]{64})(\?.*)?$", self.path)
        status, body = 404, b"not found"
        if auth == "yes":
            status, body = 403, b"Authorization header sent to the blob host"
        elif m:
            h = m.group(1)
            p = os.path.join(args.storage, "docker/registry/v2/blobs/sha256", h[:2], h, "data")
            if os.path.exists(p):
                with open(p, "rb") as fh:
                    status, body = 200, fh.read()
        log("CDN %s %s auth=%s status=%d" % (self.command, self.path, auth, status))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET


def main():
    global args
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--mode", default="pass")
    ap.add_argument("--times", type=int, default=-1)
    ap.add_argument("--match")
    ap.add_argument("--status", type=int, default=500)
    ap.add_argument("--retry-after", type=int)
    ap.add_argument("--stall", type=float, default=5)
    ap.add_argument("--storage")
    ap.add_argument("--redirect-host", default="127.0.0.2")
    ap.add_argument("--redirect-port", type=int)
    ap.add_argument("--log")
    args = ap.parse_args()
    http.server.ThreadingHTTPServer.daemon_threads = True
    if args.mode == "redirect":
        cdn = http.server.ThreadingHTTPServer((args.redirect_host, args.redirect_port), Cdn)
        threading.Thread(target=cdn.serve_forever, daemon=True).start()
    http.server.ThreadingHTTPServer((args.host, args.port), Proxy).serve_forever()


if __name__ == "__main__":
    main()
