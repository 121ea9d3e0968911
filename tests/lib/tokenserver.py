#!/usr/bin/env python3
"""A token issuer for distribution's `auth: token` (docker's token protocol), for tests.

Usage: tokenserver.py --port P --key KEY.pem --cert CERT.pem --issuer I --service S
                      --user USER:PASS [--anonymous-pull] [--expires-in SECONDS] [--log FILE]
GET /token?service=S&scope=repository:NAME:pull,push : checks Basic credentials (wrong ones:
401), grants the requested actions to USER (with no credentials: nothing, or pull only with
--anonymous-pull), and answers {"token", "access_token", "expires_in", "issued_at"}.
The JWT is RS256-signed with KEY (via the openssl command: no Python packages needed) and
carries CERT in its x5c header; the registry trusts CERT through `rootcertbundle`.
Every request is logged: "GET <path> user=<name|-> granted=<scopes>".
"""
import argparse
import base64
import http.server
import json
import os
import subprocess
import time
import urllib.parse

args = None


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign(payload):
    with open(args.cert) as fh:
        pem = fh.read()
    der_b64 = "".join(l for l in pem.splitlines() if l and not l.startswith("-----"))
    header = {"typ": "JWT", "alg": "RS256", "x5c": [der_b64]}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(payload).encode())).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", args.key], input=signing_input,
                         stdout=subprocess.PIPE, check=True).stdout
    return signing_input.decode() + "." + b64url(sig)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, obj, extra=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        user = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                given = base64.b64decode(auth[6:]).decode()
            except Exception:
                given = ""
            if given != args.user:
                self.log("-", "denied")
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                                  [("WWW-Authenticate", 'Basic realm="mydock-test"')])
            user = args.user.split(":", 1)[0]
        access = []
        for scope in sum((s.split(" ") for s in q.get("scope", [])), []):
            parts = scope.split(":")
            if len(parts) < 3 or parts[0] != "repository":
                continue
            name, wanted = ":".join(parts[1:-1]), parts[-1].split(",")
            if user:
                granted = wanted
            elif args.anonymous_pull:
                granted = [a for a in wanted if a == "pull"]
            else:
                granted = []
            access.append({"type": "repository", "name": name, "actions": granted})
        now = int(time.time())
        claims = {"iss": args.issuer, "sub": user or "", "aud": args.service,
                  "exp": now + args.expires_in, "nbf": now - 10, "iat": now,
                  "jti": b64url(os.urandom(12)), "access": access}
        tok = sign(claims)
        self.log(user or "-", ";".join("%s:%s" % (a["name"], ",".join(a["actions"])) for a in access))
        self.reply(200, {"token": tok, "access_token": tok, "expires_in": args.expires_in,
                         "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})

    def log(self, user, granted):
        if args.log:
            with open(args.log, "a") as fh:
                fh.write("%s %s user=%s granted=%s\n" % (self.command, self.path, user, granted))


def main():
    global args
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--service", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--anonymous-pull", action="store_true")
    ap.add_argument("--expires-in", type=int, default=300)
    ap.add_argument("--log")
    args = ap.parse_args()
    http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
