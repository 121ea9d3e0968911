#!/usr/bin/env python3
"""One line about an OCI layout's image: layers, compressed and unpacked size, entries.

The answer is cached in the layout directory (bench-info.txt), the layout being immutable.
"""
import gzip
import json
import os
import sys
import tarfile


def main():
    d = sys.argv[1]
    cache = os.path.join(d, "bench-info.txt")
    if os.path.exists(cache):
        print(open(cache).read().strip())
        return
    idx = json.load(open(os.path.join(d, "index.json")))
    mdig = idx["manifests"][0]["digest"].split(":")[1]
    m = json.load(open(os.path.join(d, "blobs", "sha256", mdig)))
    comp = unpacked = entries = 0
    for layer in m["layers"]:
        path = os.path.join(d, "blobs", "sha256", layer["digest"].split(":")[1])
        comp += os.path.getsize(path)
        with gzip.open(path, "rb") as g, tarfile.open(fileobj=g, mode="r|") as t:
            for member in t:
                entries += 1
                if member.isreg():
                    unpacked += member.size
    line = (f"{len(m['layers'])} layers, {comp / 1e6:.1f} MB compressed (gzip), "
            f"{unpacked / 1e6:.1f} MB of file data unpacked, {entries} entries")
    with open(cache, "w") as f:
        f.write(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
