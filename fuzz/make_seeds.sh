#!/bin/sh
# Regenerates the seed corpus of fuzz_unpack (fuzz/corpus/unpack): small layers in every
# compression, with every entry type, pax xattrs, whiteouts, and a few hostile names.
set -eu
out=${1:-$(dirname "$0")/corpus/unpack}
mkdir -p "$out"
python3 - "$out" <<'PY'
import gzip, io, subprocess, sys, tarfile
out = sys.argv[1]

def tar(entries, fmt=tarfile.PAX_FORMAT):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=fmt) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.type = e.get("type", tarfile.REGTYPE)
            ti.mode = e.get("mode", 0o644)
            ti.uid, ti.gid = e.get("uid", 0), e.get("gid", 0)
            ti.mtime = 1600000000
            ti.linkname = e.get("link", "")
            ti.devmajor, ti.devminor = e.get("dev", (0, 0))
            if "xattrs" in e:
                ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in e["xattrs"].items()}
            data = e.get("data", b"")
            ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if ti.size else None)
    return b.getvalue()

D, F, L, H, C, B, P = tarfile.DIRTYPE, tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE
seeds = {
    "basic": tar([
        {"name": "etc/", "type": D, "mode": 0o755},
        {"name": "etc/hostname", "data": b"box\n"},
        {"name": "bin/", "type": D},
        {"name": "bin/sh", "data": b"#!ELF" * 20, "mode": 0o4755, "uid": 1000, "gid": 1000,
         "xattrs": {"security.capability": "\x01\x00\x00\x02", "user.a": "b"}},
        {"name": "bin/ash", "type": H, "link": "bin/sh"},
        {"name": "lib", "type": L, "link": "usr/lib"},
        {"name": "dev/null", "type": C, "dev": (1, 3), "mode": 0o666},
        {"name": "dev/loop0", "type": B, "dev": (7, 0)},
        {"name": "run/fifo", "type": P},
        {"name": "tmp/", "type": D, "mode": 0o1777},
    ]),
    "whiteouts": tar([
        {"name": "etc/.wh.motd"},
        {"name": "var/lib/.wh..wh..opq"},
        {"name": "var/lib/new", "data": b"n"},
        {"name": ".wh..wh.plnk/x"},
        {"name": "a/.wh."},
    ]),
    "hostile": tar([
        {"name": "../escape", "data": b"x"},
        {"name": "/abs/file", "data": b"x"},
        {"name": "link", "type": L, "link": "/etc"},
        {"name": "link/passwd", "data": b"x"},
        {"name": "hl", "type": H, "link": "../../etc/passwd"},
        {"name": ".", "type": L, "link": "/"},
        {"name": "d/", "type": D, "xattrs": {"trusted.overlay.opaque": "y"}},
    ]),
    "replace": tar([
        {"name": "d/", "type": D}, {"name": "d/x", "data": b"1"}, {"name": "d", "data": b"file"},
        {"name": "s", "type": L, "link": "d"}, {"name": "s", "data": b"over"},
    ], fmt=tarfile.GNU_FORMAT),
}
for name, data in seeds.items():
    open(f"{out}/{name}.tar", "wb").write(data)
    open(f"{out}/{name}.tar.gz", "wb").write(gzip.compress(data, mtime=0))
    zst = subprocess.run(["zstd", "-q", "-c", "-3"], input=data, stdout=subprocess.PIPE, check=True).stdout
    open(f"{out}/{name}.tar.zst", "wb").write(zst)
# multi-member gzip and an empty layer
b = seeds["basic"]
open(f"{out}/multimember.tar.gz", "wb").write(gzip.compress(b[:700], mtime=0) + gzip.compress(b[700:], mtime=0))
open(f"{out}/empty.tar", "wb").write(b"\0" * 1024)
PY
