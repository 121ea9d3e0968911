#!/usr/bin/env python3
"""Builds the end-to-end fixture images by hand, as one OCI image layout.

Usage: fixtures.py OUTDIR

Writes OUTDIR/layout (oci-layout, index.json, blobs/sha256/...): index.json lists every image
to push, with the annotation org.opencontainers.image.ref.name = "REPO:TAG". Writing the
blobs ourselves gives full control over media types (OCI and Docker schema2), compression
(gzip, zstd, none) and tar entries (whiteouts, owners, modes, hardlinks, fifos, xattrs).
Also writes OUTDIR/fixtures.json (digests of every image, see tests/lib/README.md) and
OUTDIR/expected/whiteout/{layer1,layer2,layer3,merged}.json (trees for treecmp.py).
Everything is deterministic: the same inputs give the same digests.
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

MTIME = 1700000000          # every entry's mtime: fixed so digests are reproducible
CREATED = "2023-11-14T22:13:20Z"
BUSYBOX = os.environ.get("FIXTURE_BUSYBOX", "/bin/busybox")
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = {"gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
             "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
             "none": "application/vnd.oci.image.layer.v1.tar"}
D2_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
D2_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
D2_CONFIG = "application/vnd.docker.container.image.v1+json"
D2_LAYER = {"gzip": "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "none": "application/vnd.docker.image.rootfs.diff.tar"}


# ---- tar entries ---------------------------------------------------------------------------

def ti(name, kind, mode, uid=0, gid=0, **kw):
    t = tarfile.TarInfo(name)
    t.type, t.mode, t.uid, t.gid, t.mtime = kind, mode, uid, gid, MTIME
    t.uname = t.gname = ""
    for k, v in kw.items():
        setattr(t, k, v)
    return t


def d(name, mode=0o755, uid=0, gid=0, xattrs=None):
    t = ti(name + "/", tarfile.DIRTYPE, mode, uid, gid)
    if xattrs:
        t.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
    return (t, None)


def f(name, data, mode=0o644, uid=0, gid=0, xattrs=None):
    if isinstance(data, str):
        data = data.encode()
    t = ti(name, tarfile.REGTYPE, mode, uid, gid, size=len(data))
    if xattrs:
        t.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
    return (t, data)


def sym(name, target):
    return (ti(name, tarfile.SYMTYPE, 0o777, linkname=target), None)


def hard(name, target):
    return (ti(name, tarfile.LNKTYPE, 0o644, linkname=target), None)


def fifo(name, mode=0o644):
    return (ti(name, tarfile.FIFOTYPE, mode), None)


def make_tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for t, data in entries:
            tar.addfile(t, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def compress(raw, how):
    if how == "gzip":
        return gzip.compress(raw, compresslevel=6, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-3"], input=raw, stdout=subprocess.PIPE,
                              check=True).stdout
    return raw


# ---- the layout ----------------------------------------------------------------------------

class Layout:
    def __init__(self, out):
        self.dir = os.path.join(out, "layout")
        os.makedirs(os.path.join(self.dir, "blobs", "sha256"), exist_ok=True)
        self.refs = []          # index.json manifests
        self.info = {}          # fixtures.json

    def blob(self, data, media_type):
        h = hashlib.sha256(data).hexdigest()
        p = os.path.join(self.dir, "blobs", "sha256", h)
        if not os.path.exists(p):
            with open(p, "wb") as fh:
                fh.write(data)
        return {"mediaType": media_type, "digest": "sha256:" + h, "size": len(data)}

    def layer(self, entries, how="gzip", docker=False):
        raw = make_tar(entries)
        mt = (D2_LAYER if docker else OCI_LAYER)[how]
        desc = self.blob(compress(raw, how), mt)
        return desc, "sha256:" + hashlib.sha256(raw).hexdigest()

    def image(self, layers, config, arch="amd64", variant=None, docker=False):
        """layers: [(desc, diffid)]; returns (manifest descriptor, config descriptor)."""
        cfg = {"created": CREATED, "architecture": arch, "os": "linux", "config": config,
               "rootfs": {"type": "layers", "diff_ids": [l[1] for l in layers]},
               "history": [{"created": CREATED, "created_by": "tests/lib/fixtures.py"}
                           for _ in layers]}
        if variant:
            cfg["variant"] = variant
        cdesc = self.blob(json.dumps(cfg, sort_keys=True).encode(), D2_CONFIG if docker else OCI_CONFIG)
        man = {"schemaVersion": 2, "mediaType": D2_MANIFEST if docker else OCI_MANIFEST,
               "config": cdesc, "layers": [l[0] for l in layers]}
        mdesc = self.blob(json.dumps(man, indent=3).encode(), man["mediaType"])
        return mdesc, cdesc

    def index(self, platform_manifests, docker=False):
        """platform_manifests: [(manifest desc, platform dict)]"""
        idx = {"schemaVersion": 2, "mediaType": D2_LIST if docker else OCI_INDEX,
               "manifests": [dict(m, platform=p) for m, p in platform_manifests]}
        return self.blob(json.dumps(idx, indent=3).encode(), idx["mediaType"])

    def tag_image(self, name, mdesc, cdesc, layers):
        """Tags a single-platform image; fixtures.json records its config digest, DiffIDs
        and layer blob digests."""
        self.tag(name, mdesc, config=cdesc["digest"], layers=[l[1] for l in layers],
                 blobs=[l[0]["digest"] for l in layers])

    def tag(self, name, desc, **extra):
        """name = "repo:tag" as pushed (e.g. "library/busybox:latest")."""
        self.refs.append(dict(desc, annotations={"org.opencontainers.image.ref.name": name}))
        self.info[name] = dict(extra, digest=desc["digest"], mediaType=desc["mediaType"])

    def finish(self, out):
        with open(os.path.join(self.dir, "oci-layout"), "w") as fh:
            json.dump({"imageLayoutVersion": "1.0.0"}, fh)
        with open(os.path.join(self.dir, "index.json"), "w") as fh:
            json.dump({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.refs}, fh, indent=1)
        with open(os.path.join(out, "fixtures.json"), "w") as fh:
            json.dump(self.info, fh, indent=1, sort_keys=True)


# ---- the images ----------------------------------------------------------------------------

PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
          "app:x:1000:1000:app user:/home/app:/bin/sh\n")
GROUP = ("root:x:0:\n"
         "nobody:x:65534:\n"
         "app:x:1000:\n"
         "staff:x:1001:app\n"
         "audio:x:29:app,nobody\n")


def busybox_entries():
    with open(BUSYBOX, "rb") as fh:
        binary = fh.read()
    out = subprocess.run([BUSYBOX, "--list-full"], stdout=subprocess.PIPE, check=True, text=True)
    applets = sorted(set(a for a in out.stdout.split() if a and a != "bin/busybox"))
    dirs = ["bin", "dev", "etc", "home", "proc", "sbin", "sys", "usr", "usr/bin", "usr/sbin",
            "var", "var/spool"]
    e = [d(x) for x in dirs]
    e += [d("root", 0o700), d("tmp", 0o1777), d("var/tmp", 0o1777), d("home/app", 0o755, 1000, 1000)]
    e += [f("bin/busybox", binary, 0o755),
          f("etc/passwd", PASSWD), f("etc/group", GROUP),
          f("etc/os-release", 'NAME="mydock test busybox"\nID=busybox\n'),
          f("home/app/.profile", "# app's profile\n", 0o644, 1000, 1000)]
    e += [sym(a, "/bin/busybox") for a in applets]
    return e


def arch_layer(arch):
    return [f("arch", arch + "\n")]


def whiteout_layers():
    """Three layers and the trees they must give. Returns (entries per layer, expected)."""
    l1 = [d("a"), f("a/keep", "keep v1\n"), f("a/del", "to be deleted\n"),
          d("b", 0o750, 1000, 1000), f("b/x", "x\n"), f("b/y", "y\n"), d("b/sub"), f("b/sub/z", "z\n"),
          sym("c", "a/keep"),
          d("d"), f("d/f", "in d\n"),
          f("e", "setuid owned by app\n", 0o4755, 1000, 1000, xattrs={"user.mydock": "fixture"}),
          f("h1", "hard linked\n"), hard("h2", "h1"),
          fifo("p", 0o600),
          f("empty", ""), d("sticky", 0o1777)]
    l2 = [d("a"), f("a/.wh.del", ""), f("a/added", "added in 2\n", 0o600),
          d("b", 0o750, 1000, 1000), f("b/.wh..wh..opq", ""), f("b/new", "new in 2\n"),
          f(".wh.d", "")]
    l3 = [d("a"), f("a/keep", "keep v3\n", 0o640, 0, 1001),
          d("b", 0o750, 1000, 1000), f("b/.wh.new", ""),
          d("newdir", 0o711), f("newdir/file", "from 3\n"),
          f("c", "c is a file now\n")]

    def F(path, data, mode=0o644, uid=0, gid=0, xattrs=None, link=None):
        if isinstance(data, str):
            data = data.encode()
        r = {"path": path, "type": "f", "mode": mode, "uid": uid, "gid": gid, "size": len(data),
             "sha256": hashlib.sha256(data).hexdigest(), "mtime": MTIME}
        if xattrs:
            r["xattrs"] = xattrs
        if link:
            r["linkgroup"] = link
        return r

    def D(path, mode=0o755, uid=0, gid=0, xattrs=None):
        r = {"path": path, "type": "d", "mode": mode, "uid": uid, "gid": gid}
        if xattrs:
            r["xattrs"] = xattrs
        return r

    def W(path):
        return {"path": path, "type": "whiteout"}

    opq = {"trusted.overlay.opaque": "y"}
    t1 = [D("a"), F("a/keep", "keep v1\n"), F("a/del", "to be deleted\n"),
          D("b", 0o750, 1000, 1000), F("b/x", "x\n"), F("b/y", "y\n"), D("b/sub"), F("b/sub/z", "z\n"),
          {"path": "c", "type": "l", "target": "a/keep", "uid": 0, "gid": 0},
          D("d"), F("d/f", "in d\n"),
          F("e", "setuid owned by app\n", 0o4755, 1000, 1000, xattrs={"user.mydock": "fixture"}),
          F("h1", "hard linked\n", link="h"), F("h2", "hard linked\n", link="h"),
          {"path": "p", "type": "p", "mode": 0o600, "uid": 0, "gid": 0},
          F("empty", ""), D("sticky", 0o1777)]
    t2 = [D("a"), W("a/del"), F("a/added", "added in 2\n", 0o600),
          D("b", 0o750, 1000, 1000, xattrs=opq), F("b/new", "new in 2\n"), W("d")]
    t3 = [D("a"), F("a/keep", "keep v3\n", 0o640, 0, 1001),
          D("b", 0o750, 1000, 1000), W("b/new"),
          D("newdir", 0o711), F("newdir/file", "from 3\n"), F("c", "c is a file now\n")]
    merged = [D("a"), F("a/keep", "keep v3\n", 0o640, 0, 1001), F("a/added", "added in 2\n", 0o600),
              D("b", 0o750, 1000, 1000),
              F("c", "c is a file now\n"),
              F("e", "setuid owned by app\n", 0o4755, 1000, 1000, xattrs={"user.mydock": "fixture"}),
              F("h1", "hard linked\n", link="h"), F("h2", "hard linked\n", link="h"),
              {"path": "p", "type": "p", "mode": 0o600, "uid": 0, "gid": 0},
              F("empty", ""), D("sticky", 0o1777),
              D("newdir", 0o711), F("newdir/file", "from 3\n")]
    return [l1, l2, l3], {"layer1": t1, "layer2": t2, "layer3": t3, "merged": merged}


def main():
    out = sys.argv[1]
    L = Layout(out)
    bb_cfg = {"Env": [PATH_ENV], "Cmd": ["sh"]}
    bb_entries = busybox_entries()

    def pf(arch, variant=None):
        p = {"architecture": arch, "os": "linux"}
        if variant:
            p["variant"] = variant
        return p

    # busybox, single-arch amd64, in every format and compression.
    base = L.layer(bb_entries, "gzip")
    m, c = L.image([base], bb_cfg)
    L.tag_image("library/busybox:latest", m, c, [base])
    L.tag_image("library/busybox:oci", m, c, [base])
    for how in ("zstd", "none"):
        lay = L.layer(bb_entries, how)
        m2, c2 = L.image([lay], bb_cfg)
        L.tag_image("library/busybox:" + ("uncompressed" if how == "none" else how), m2, c2, [lay])
    dbase = L.layer(bb_entries, "gzip", docker=True)
    m3, c3 = L.image([dbase], bb_cfg, docker=True)
    L.tag_image("library/busybox:schema2", m3, c3, [dbase])

    # multi-arch: amd64 + arm64/v8, each the busybox layer plus /arch naming the platform.
    for docker, tag in ((False, "multi"), (True, "multi-schema2")):
        b = dbase if docker else base
        plats = []
        info = {}
        for arch, variant in (("amd64", None), ("arm64", "v8")):
            a = L.layer(arch_layer(arch), "gzip", docker=docker)
            mm, cc = L.image([b, a], bb_cfg, arch, variant, docker=docker)
            plats.append((mm, pf(arch, variant)))
            info[arch] = {"manifest": mm["digest"], "config": cc["digest"],
                          "layers": [b[1], a[1]], "blobs": [b[0]["digest"], a[0]["digest"]]}
        idx = L.index(plats, docker=docker)
        L.tag("library/busybox:" + tag, idx, platforms=info)

    # whiteouts and opaque directories, three layers.
    layers, expected = whiteout_layers()
    wl = [L.layer(e, "gzip") for e in layers]
    m, c = L.image(wl, {"Env": [PATH_ENV], "Cmd": ["/bin/sh"]})
    L.tag_image("test/whiteout:latest", m, c, wl)
    os.makedirs(os.path.join(out, "expected", "whiteout"), exist_ok=True)
    for k, v in expected.items():
        with open(os.path.join(out, "expected", "whiteout", k + ".json"), "w") as fh:
            json.dump(v, fh, indent=1)

    # config rules for the run tests.
    applayer = L.layer([d("srv"), f("srv/hello.txt", "hello from test/app\n")], "gzip")
    m, c = L.image([base, applayer], {
        "User": "app", "Env": [PATH_ENV, "APP_ENV=fixture", "APP_EQ=a=b"],
        "Cmd": ["sh", "-c", "id; pwd; echo $APP_ENV"], "WorkingDir": "/work/dir",
        "Labels": {"org.mydock.test": "app"}, "StopSignal": "SIGTERM"})
    L.tag_image("test/app:latest", m, c, [base, applayer])
    m, c = L.image([base], {"Env": [PATH_ENV], "Entrypoint": ["/bin/echo", "ep"], "Cmd": ["default"]})
    L.tag_image("test/entry:latest", m, c, [base])

    # 100 layers: busybox + 99 one-file layers.
    many = [base] + [L.layer([d("layers"), f("layers/%03d" % i, "%d\n" % i)], "gzip")
                     for i in range(1, 100)]
    m, c = L.image(many, bb_cfg)
    L.tag_image("test/many:latest", m, c, many)

    # two images sharing the busybox base layer.
    for n in ("a", "b"):
        top = L.layer([f("name", n + "\n")], "gzip")
        m, c = L.image([base, top], bb_cfg)
        L.tag_image("test/shared-%s:latest" % n, m, c, [base, top])

    L.finish(out)


if __name__ == "__main__":
    main()
