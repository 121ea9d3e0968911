#!/usr/bin/env python3
"""Write an OCI image layout from gzip-compressed tar layers (bench images are built, never fetched).

usage: mkoci.py OUTDIR --layer L1.tar.gz [--layer L2.tar.gz ...] [--cmd ARG ...] [--tag latest]

Blobs are hard-linked (or copied) into OUTDIR/blobs/sha256/; the DiffIDs are computed by
decompressing each layer. OUTDIR must not exist yet.
"""
import argparse
import gzip
import hashlib
import json
import os
import shutil
import sys


def sha256_file(path, gunzip=False):
    h = hashlib.sha256()
    opener = gzip.open if gunzip else open
    with opener(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def put_blob(out, data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return d, len(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layer", action="append", required=True)
    ap.add_argument("--cmd", nargs="+", default=["/bin/sh"])
    ap.add_argument("--tag", default="latest")
    a = ap.parse_args()
    if os.path.exists(a.out):
        sys.exit(f"{a.out} exists")
    os.makedirs(os.path.join(a.out, "blobs", "sha256"))
    layers, diff_ids = [], []
    for path in a.layer:
        digest = sha256_file(path)
        dst = os.path.join(a.out, "blobs", "sha256", digest)
        if not os.path.exists(dst):
            try:
                os.link(path, dst)
            except OSError:
                shutil.copyfile(path, dst)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": "sha256:" + digest, "size": os.path.getsize(path)})
        diff_ids.append("sha256:" + sha256_file(path, gunzip=True))
    config = {
        "created": "2026-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": a.cmd},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "bench/run.sh"}
                    for _ in layers],
    }
    cd, cs = put_blob(a.out, json.dumps(config, separators=(",", ":")).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + cd, "size": cs},
        "layers": layers,
    }
    md, ms = put_blob(a.out, json.dumps(manifest, separators=(",", ":")).encode())
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + md, "size": ms,
        "annotations": {"org.opencontainers.image.ref.name": a.tag}}]}
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(a.out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)


if __name__ == "__main__":
    main()
