#!/usr/bin/env python3
"""Compares a directory tree, file by file, with an expected tree (JSON), or dumps one.

Usage: treecmp.py EXPECTED.json DIR     exit 0 when equal, else 1 with one line per difference
       treecmp.py --dump DIR            prints DIR as such a JSON list

Each expected entry: {"path", "type": f|d|l|p|c|whiteout, "mode", "uid", "gid", "size",
"sha256", "mtime" (regular files), "target" (symlinks), "linkgroup" (regular files with the
same value must be one inode), "xattrs" (dict; user.* and trusted.overlay.opaque are
compared: an xattr present but not expected is a difference too)}. A "whiteout" is overlayfs'
form: a character device 0/0. Absent keys are not compared. Every path in DIR must be expected.
"""
import hashlib
import json
import os
import stat
import sys

CHECKED_XATTRS = ("user.", "trusted.overlay.opaque")


def xattrs(p):
    out = {}
    try:
        names = os.listxattr(p, follow_symlinks=False)
    except OSError:
        return out
    for n in names:
        if n.startswith(CHECKED_XATTRS):
            out[n] = os.getxattr(p, n, follow_symlinks=False).decode(errors="replace")
    return out


def describe(root, rel):
    p = os.path.join(root, rel)
    st = os.lstat(p)
    m = st.st_mode
    e = {"path": rel, "mode": stat.S_IMODE(m), "uid": st.st_uid, "gid": st.st_gid, "ino": st.st_ino}
    if stat.S_ISREG(m):
        with open(p, "rb") as fh:
            e.update(type="f", size=st.st_size, sha256=hashlib.sha256(fh.read()).hexdigest(),
                     mtime=int(st.st_mtime))
    elif stat.S_ISDIR(m):
        e["type"] = "d"
    elif stat.S_ISLNK(m):
        e.update(type="l", target=os.readlink(p))
    elif stat.S_ISFIFO(m):
        e["type"] = "p"
    elif stat.S_ISCHR(m):
        e.update(type="whiteout" if st.st_rdev == 0 else "c", rdev=[os.major(st.st_rdev), os.minor(st.st_rdev)])
    else:
        e["type"] = "other"
    e["xattrs"] = xattrs(p)
    return e


def walk(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            rel = os.path.relpath(os.path.join(d, n), root)
            out[rel] = describe(root, rel)
    return out


def compare(expected, root):
    actual = walk(root)
    diffs = []
    groups = {}
    for e in expected:
        a = actual.pop(e["path"], None)
        if a is None:
            diffs.append("%s: missing (expected %s)" % (e["path"], e["type"]))
            continue
        if a["type"] != e["type"]:
            diffs.append("%s: type %s, expected %s" % (e["path"], a["type"], e["type"]))
            continue
        for k in ("mode", "uid", "gid", "size", "sha256", "target", "mtime"):
            if k in e and a.get(k) != e[k]:
                fmt = (lambda v: oct(v) if isinstance(v, int) else v) if k == "mode" else (lambda v: v)
                diffs.append("%s: %s %s, expected %s" % (e["path"], k, fmt(a.get(k)), fmt(e[k])))
        if e["type"] != "whiteout" and a["xattrs"] != e.get("xattrs", {}):
            diffs.append("%s: xattrs %s, expected %s" % (e["path"], a["xattrs"], e.get("xattrs", {})))
        if "linkgroup" in e:
            groups.setdefault(e["linkgroup"], set()).add((a["ino"], e["path"]))
    for g, members in groups.items():
        if len({ino for ino, _ in members}) != 1:
            diffs.append("hardlink group %s: %s are not one inode" % (g, sorted(p for _, p in members)))
    for rel in sorted(actual):
        diffs.append("%s: unexpected %s" % (rel, actual[rel]["type"]))
    return diffs


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--dump":
        t = walk(sys.argv[2])
        json.dump([t[k] for k in sorted(t)], sys.stdout, indent=1)
        print()
        return 0
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as fh:
        expected = json.load(fh)
    diffs = compare(expected, sys.argv[2])
    for line in diffs:
        print(line)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
