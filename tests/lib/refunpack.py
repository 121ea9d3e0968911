#!/usr/bin/env python3
"""Reference unpacker for the self-test of the fixtures (not mydock's): extracts a layer
blob (gzip, zstd or plain tar) into DIR with GNU tar, then turns whiteouts into overlayfs
form (.wh.NAME -> char 0/0 NAME; .wh..wh..opq -> trusted.overlay.opaque=y on the dir).
Usage: refunpack.py BLOB DIR   (as root)"""
import os
import subprocess
import sys

blob, target = sys.argv[1], sys.argv[2]
os.makedirs(target, exist_ok=True)
with open(blob, "rb") as fh:
    magic = fh.read(4)
decomp = ["--zstd"] if magic == b"\x28\xb5\x2f\xfd" else ["-z"] if magic[:2] == b"\x1f\x8b" else []
subprocess.run(["tar", "-x", "-C", target, "-f", blob, "--xattrs", "--xattrs-include=*",
                "--same-owner", "-p", "--numeric-owner"] + decomp, check=True)
for d, dirs, files in os.walk(target):
    for n in files:
        if not n.startswith(".wh."):
            continue
        os.unlink(os.path.join(d, n))
        if n == ".wh..wh..opq":
            os.setxattr(d, "trusted.overlay.opaque", b"y")
        else:
            os.mknod(os.path.join(d, n[4:]), 0o020000, os.makedev(0, 0))
