#!/usr/bin/env python3
"""Pushes images from an OCI layout to a registry, byte for byte (no recompression, no
conversion, unlike skopeo, which gzips uncompressed layers on push).

Usage: push.py [--cacert FILE] [--user USER:PASS] LAYOUT URL [NAME...]
  URL   e.g. http://127.0.0.1:5000 or https://127.0.0.1:5443
  NAME  "repo:tag" as annotated in LAYOUT/index.json (default: all of them)
Handles anonymous, Basic and Bearer-token registries (the token fetched with USER:PASS).
"""
import argparse
import base64
import json
import os
import re
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


class Registry:
    def __init__(self, url, cacert=None, user=None):
        self.url = url.rstrip("/")
        ctx = ssl.create_default_context(cafile=cacert) if cacert else None
        self.opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx), NoRedirect)
        self.user = user
        self.tokens = {}

    def _auth_header(self, scope):
        return self.tokens.get(scope)

    def _login(self, challenge, scope):
        kind, _, params = challenge.partition(" ")
        if kind.lower() == "basic":
            self.tokens[scope] = "Basic " + base64.b64encode(self.user.encode()).decode()
            return
        p = dict(re.findall(r'(\w+)="([^"]*)"', params))
        q = {"service": p.get("service", ""), "scope": scope}
        req = urllib.request.Request(p["realm"] + "?" + urllib.parse.urlencode(q))
        if self.user:
            req.add_header("Authorization", "Basic " + base64.b64encode(self.user.encode()).decode())
        with self.opener.open(req) as r:
            body = json.load(r)
        self.tokens[scope] = "Bearer " + (body.get("token") or body["access_token"])

    def request(self, method, path, repo, data=None, headers=None):
        scope = "repository:%s:pull,push" % repo
        url = path if path.startswith("http") else self.url + path
        for _ in range(2):
            req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
            if self._auth_header(scope):
                req.add_header("Authorization", self._auth_header(scope))
            try:
                with self.opener.open(req) as r:
                    return r.status, dict(r.headers), r.read()
            except urllib.error.HTTPError as e:
                if e.code == 401 and scope not in self.tokens:
                    self._login(e.headers.get("WWW-Authenticate", ""), scope)
                    continue
                return e.code, dict(e.headers), e.read()
        raise RuntimeError("unauthorized: %s %s" % (method, url))

    def push_blob(self, layout, repo, desc):
        dg = desc["digest"]
        st, _, _ = self.request("HEAD", "/v2/%s/blobs/%s" % (repo, dg), repo)
        if st == 200:
            return
        st, h, body = self.request("POST", "/v2/%s/blobs/uploads/" % repo, repo, data=b"")
        if st != 202:
            raise RuntimeError("upload start %s: %s %s" % (repo, st, body[:200]))
        loc = h["Location"]
        if not loc.startswith("http"):
            loc = self.url + loc
        loc += ("&" if "?" in loc else "?") + "digest=" + urllib.parse.quote(dg)
        with open(os.path.join(layout, "blobs", "sha256", dg.split(":")[1]), "rb") as fh:
            data = fh.read()
        st, _, body = self.request("PUT", loc, repo, data=data,
                                   headers={"Content-Type": "application/octet-stream"})
        if st != 201:
            raise RuntimeError("upload %s %s: %s %s" % (repo, dg, st, body[:200]))

    def push_manifest(self, layout, repo, desc, ref):
        with open(os.path.join(layout, "blobs", "sha256", desc["digest"].split(":")[1]), "rb") as fh:
            body = fh.read()
        m = json.loads(body)
        if desc["mediaType"] in INDEX_TYPES:
            for child in m["manifests"]:
                self.push_manifest(layout, repo, child, child["digest"])
        else:
            for b in [m["config"]] + m["layers"]:
                self.push_blob(layout, repo, b)
        st, _, resp = self.request("PUT", "/v2/%s/manifests/%s" % (repo, ref), repo, data=body,
                                   headers={"Content-Type": desc["mediaType"]})
        if st != 201:
            raise RuntimeError("manifest %s:%s: %s %s" % (repo, ref, st, resp[:300]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cacert")
    ap.add_argument("--user")
    ap.add_argument("layout")
    ap.add_argument("url")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    reg = Registry(a.url, a.cacert, a.user)
    with open(os.path.join(a.layout, "index.json")) as fh:
        index = json.load(fh)
    for desc in index["manifests"]:
        name = desc["annotations"]["org.opencontainers.image.ref.name"]
        if a.names and name not in a.names:
            continue
        repo, tag = name.rsplit(":", 1)
        reg.push_manifest(a.layout, repo, desc, tag)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a short message, not a traceback, in the bats output
        print("push.py: %s" % e, file=sys.stderr)
        sys.exit(1)
