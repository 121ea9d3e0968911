#!/usr/bin/env python3
"""Turns run.sh's samples and facts into bench/RESULTS.md (and prints it).

usage: report.py SAMPLES META OUT.md
SAMPLES: "KEY START END" lines (seconds, $EPOCHREALTIME) or "KEY FAIL"; META: "key<TAB>value".
"""
import statistics
import sys


def load(samples_path, meta_path):
    samples, failed = {}, set()
    for line in open(samples_path):
        f = line.split()
        if len(f) == 2 and f[1] == "FAIL":
            failed.add(f[0])
        elif len(f) == 3:
            samples.setdefault(f[0], []).append(float(f[2]) - float(f[1]))
    meta = {}
    for line in open(meta_path):
        if "\t" in line:
            k, v = line.rstrip("\n").split("\t", 1)
            meta[k] = v
    return samples, failed, meta


def main():
    samples, failed, meta = load(sys.argv[1], sys.argv[2])

    def med(key):
        s = samples.get(key)
        return statistics.median(s) if s else None

    def fmt_t(x):
        if x is None:
            return "n/a"
        return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"

    def fmt_b(x):
        return "n/a" if x is None else f"{x / 1e6:.1f} MB"

    def ratio(a, b):
        return None if a is None or b is None or b == 0 else a / b

    def fmt_r(r):
        return "n/a" if r is None else f"{r:.2f}"

    def num(key):
        v = meta.get(key)
        try:
            return float(v)
        except (TypeError, ValueError):
            return None

    rows = []

    def trow(section, label, key, mine):
        s = samples.get(key)
        if s:
            spread = f"{fmt_t(min(s))} – {fmt_t(max(s))}"
            n = str(len(s))
        else:
            spread, n = ("failed" if key in failed else "n/a"), "0"
        r = "" if key == mine else fmt_r(ratio(med(mine), med(key)))
        rows.append(f"| {section} | {label} | {fmt_t(med(key))} | {spread} | {n} | {r} |")

    s1 = "1. cold pull bench/debian"
    trow(s1, "`mydock pull`", "pull.mydock", "pull.mydock")
    trow(s1, "`docker pull`", "pull.docker", "pull.mydock")
    trow(s1, "`podman pull`", "pull.podman", "pull.mydock")
    trow(s1, "`skopeo copy` + `umoci unpack`", "pull.skopeo_umoci", "pull.mydock")
    trow(s1, "limit: sha256 + inflate + sha256 + write, layers in parallel", "pull.limit", "pull.mydock")
    trow(s1, "limit, plus one syncfs per layer", "pull.limit_sync", "pull.mydock")
    s2 = "2. warm start `run --rm IMG /bin/true`"
    trow(s2, "`mydock run --rm` (bridge: veth, lease, NAT rule; `mydock0` kept between runs)", "run.mydock", "run.mydock")
    trow(s2, "`docker run --rm` (this dockerd has `--bridge=none`: no veth)", "run.docker", "run.mydock")
    trow(s2, "`podman run --rm` (netns `none` in its containers.conf)", "run.podman", "run.mydock")
    trow(s2, "`runc run` (bundle of the same rootfs, own netns)", "run.runc", "run.mydock")
    s2n = "2. warm start, `--network none`"
    trow(s2n, "`mydock run --rm --network none`", "run.mydock.none", "run.mydock.none")
    trow(s2n, "`docker run --rm --network none`", "run.docker.none", "run.mydock.none")
    trow(s2n, "`podman run --rm --network none`", "run.podman.none", "run.mydock.none")
    trow(s2n, "`runc run`", "run.runc", "run.mydock.none")
    s4 = "4. 100-layer image"
    trow(s4, "`mydock pull` (cold)", "l100pull.mydock", "l100pull.mydock")
    trow(s4, "`docker pull` (cold)", "l100pull.docker", "l100pull.mydock")
    trow(s4, "`mydock run --rm`", "l100run.mydock", "l100run.mydock")
    trow(s4, "`docker run --rm`", "l100run.docker", "l100run.mydock")

    # Disk use: bytes, not times.
    s3 = "3. disk after pulling bench/debian + bench/debian-app"
    ideal_u, ideal_b = num("disk.ideal_unpacked"), num("disk.ideal_blobs")
    ideal = None if ideal_u is None or ideal_b is None else ideal_u + ideal_b
    md2 = num("disk.mydock.two")
    disk_rows = []

    def drow(label, one, two):
        a, b = num(one), num(two)
        added = None if a is None or b is None else b - a
        r = fmt_r(ratio(md2, b)) if two != "disk.mydock.two" else ""
        disk_rows.append(f"| {s3} | {label} | {fmt_b(b)} | first image {fmt_b(a)}, "
                         f"second added {fmt_b(added)} | 1 | {r} |")
    drow("mydock `--root` (du -sb)", "disk.mydock.one", "disk.mydock.two")
    drow("docker overlay2 + image (du -sb)", "disk.docker.one", "disk.docker.two")
    drow("podman storage root (du -sb)", "disk.podman.one", "disk.podman.two")
    disk_rows.append(f"| {s3} | ideal: unique layers once, unpacked | {fmt_b(ideal_u)} | "
                     f"the second image's own layer: {fmt_b(num('disk.app_layer_unpacked'))} | | "
                     f"{fmt_r(ratio(md2, ideal_u))} |")
    disk_rows.append(f"| {s3} | ideal + the compressed blobs kept | {fmt_b(ideal)} | | | "
                     f"{fmt_r(ratio(md2, ideal))} |")

    # Targets of issue 6.
    targets = []

    def target(name, value, limit, shown=None):
        if value is None:
            verdict = "n/a"
        else:
            verdict = "PASS" if value <= limit else "MISS"
        targets.append(f"| {name} | {shown if shown is not None else fmt_r(value)} | {verdict} |")

    target("cold pull ≤ 0.5 × docker pull", ratio(med("pull.mydock"), med("pull.docker")), 0.5)
    target("cold pull ≤ 1.3 × limit (with one sync per layer)",
           ratio(med("pull.mydock"), med("pull.limit_sync")), 1.3)
    target("cold pull ≤ 1.3 × limit (no sync; stricter, for reference)",
           ratio(med("pull.mydock"), med("pull.limit")), 1.3)
    target("`run --rm img true` ≤ 1.0 × runc run", ratio(med("run.mydock"), med("run.runc")), 1.0)
    target("`run --rm --network none img true` ≤ 1.0 × runc run",
           ratio(med("run.mydock.none"), med("run.runc")), 1.0)
    target("`run --rm img true` ≤ 0.1 × docker run", ratio(med("run.mydock"), med("run.docker")), 0.1)
    target("`run --rm --network none` ≤ 0.1 × docker run --network none",
           ratio(med("run.mydock.none"), med("run.docker.none")), 0.1)
    target("aim: `run --rm img true` ≈ 2 ms (clone + overlay + pivot_root + exec)",
           med("run.mydock"), 0.002, fmt_t(med("run.mydock")))
    target("disk: shared layers stored once (≤ 1.05 × unique layers unpacked + their blobs)",
           ratio(md2, ideal), 1.05)
    l100 = (1.0 if samples.get("l100pull.mydock") and samples.get("l100run.mydock") else None)
    target("100-layer image pulls and runs", l100, 1.0, "yes" if l100 else "n/a")

    out = []
    out.append("# mydock benchmark results")
    out.append("")
    out.append(f"Written by `bench/run.sh` on {meta.get('date', '?')}. Medians over repeated runs; "
               "the last column is mydock's median divided by that row's (below 1: mydock faster). "
               "See bench/README.md for what each number means.")
    out.append("")
    out.append("## Machine")
    out.append("")
    for k, label in [("cpu", "CPU"), ("cores", "cores"), ("load", "load"), ("ram", "RAM"), ("kernel", "kernel"),
                     ("disk", "disk"), ("cgroups", "cgroups"), ("n", "repetitions")]:
        out.append(f"- {label}: {meta.get(k, '?')}")
    out.append("")
    out.append("## Versions")
    out.append("")
    for k in ["mydock", "docker", "podman", "runc", "skopeo", "umoci", "registry"]:
        out.append(f"- {k}: {meta.get('v.' + k, '?')}")
    out.append("")
    out.append("## Images (built by run.sh, served by a local docker-registry on 127.0.0.1)")
    out.append("")
    out.append(f"- bench/debian (debootstrap --variant=minbase bookworm + python3, curl): "
               f"{meta.get('img.debian', '?')}")
    out.append("- bench/debian-app: the same three layers plus one of 2,000 small files")
    out.append("- bench/busybox: one layer, Debian's busybox-static and its applet links")
    out.append(f"- bench/layers100: {meta.get('img.layers100', '?')}")
    out.append("")
    out.append("## Results")
    out.append("")
    out.append("| measurement | engine | median | min – max | n | mydock / this |")
    out.append("| --- | --- | ---: | --- | ---: | ---: |")
    out.extend(rows[:14])
    out.extend(disk_rows)
    out.extend(rows[14:])
    out.append("")
    out.append("## Targets (issue 6)")
    out.append("")
    out.append("| target | measured | verdict |")
    out.append("| --- | ---: | --- |")
    out.extend(targets)
    if failed:
        out.append("")
        out.append("Failed (their numbers are n/a): " + ", ".join(sorted(failed)))
    text = "\n".join(out) + "\n"
    with open(sys.argv[3], "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
