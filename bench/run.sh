#!/usr/bin/env bash
# bench/run.sh - mydock against docker, podman, runc and skopeo+umoci (issue 6).
#
#   sudo bench/run.sh            # everything: install, build, start, measure, write RESULTS.md
#
# Needs root and the Debian archive (apt-get, debootstrap). Everything it starts listens on
# 127.0.0.1 only and is stopped and removed at exit. Knobs (environment), see bench/README.md:
#   N_PULL=5 N_RUN=50 N_RUN100=20   repetitions (medians are reported)
#   MYDOCK_BIN=build-bench/src/cli/mydock  the binary to measure (built here unless BUILD_MYDOCK=0)
#   DROP_CACHES=1                   sync + drop page caches before every cold pull
#   NO_INSTALL=1                    skip apt-get;   KEEP_WORK=1  keep the logs
#   SCRATCH_FS=loop                 state on a fresh ext4 (loop, no discard); "dir": plain dir
#   ONLY="pull run disk l100"       a subset of the measurements
#   RESULTS=bench/RESULTS.md        where the report goes
#   SERVE=1                         only start the registry with the images (for profiling)
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(dirname "$BENCH")
CACHE=$BENCH/.cache
N_PULL=${N_PULL:-5}
N_RUN=${N_RUN:-50}
N_RUN100=${N_RUN100:-20}
DROP_CACHES=${DROP_CACHES:-1}
BUILD_MYDOCK=${BUILD_MYDOCK:-1}
MYDOCK_BUILD_DIR=${MYDOCK_BUILD_DIR:-$SRC/build-bench}
MYDOCK_BIN=${MYDOCK_BIN:-}
ONLY=${ONLY:-pull run disk l100}
RESULTS=${RESULTS:-$BENCH/RESULTS.md}
IMAGE_VERSION=4   # bump when the image recipes below change (invalidates .cache/oci)

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
want() { [[ " $ONLY " == *" $1 "* ]]; }

[[ $(id -u) == 0 ]] || die "run me as root (dockerd, podman, runc and mounts need it)"

# ---------------------------------------------------------------------------------------------
# 1. Packages
# ---------------------------------------------------------------------------------------------
install_packages() {
    local pkgs=(docker.io containerd podman runc debootstrap skopeo umoci docker-registry
        busybox-static python3 jq g++ libarchive-dev zlib1g-dev libssl-dev curl
        debian-archive-keyring cmake ninja-build)
    local missing=() p
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    log "apt-get install ${missing[*]}"
    # docker.io's postinst would start a system dockerd: forbid service starts while installing.
    local policy=/usr/sbin/policy-rc.d made_policy=
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    local rc=$?
    [[ -n $made_policy ]] && rm -f "$policy"
    return $rc
}
[[ -n ${NO_INSTALL:-} ]] || install_packages || die "apt-get failed"

# ---------------------------------------------------------------------------------------------
# 2. Scratch dir, cleanup trap
# ---------------------------------------------------------------------------------------------
WORK=$(mktemp -d /var/tmp/mydock-bench.XXXXXX)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
RES=$WORK/samples.txt   # "KEY START END" per sample, "KEY FAIL" per failure
MAIN_RES=$RES           # (RES points elsewhere during warm-up rounds)
META=$WORK/meta.txt     # "key<TAB>value" facts for the report
LOOPDEV=
# dockerd and podman leave their parent cgroups (docker, libpod_parent) behind: remember which
# exist now, remove the others (empty by then) at exit.
cg_parents() {
    local d
    for d in /sys/fs/cgroup/*/docker /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/docker \
        /sys/fs/cgroup/libpod_parent; do
        [[ -d $d ]] && echo "$d"
    done
    return 0
}
declare -A CG_BEFORE=()
for d in $(cg_parents); do CG_BEFORE[$d]=1; done
# Host paths the peers create whatever their flags (shim sockets, runc state, podman's network
# and blob-info caches): removed at exit unless they were there before.
HOST_PATHS=(/run/docker /run/containerd /run/runc /run/containers /var/lib/containers /run/libpod)
declare -A HOST_BEFORE=()
for d in "${HOST_PATHS[@]}"; do [[ -e $d ]] && HOST_BEFORE[$d]=1; done
meta() { printf '%s\t%s\n' "$1" "$2" >>"$META"; }
PIDS=()

# Unmounts everything at or below DIR, deepest first (dockerd, podman and runc leave mounts).
umount_under() {
    local dir=$1 m
    for _ in 1 2 3; do
        local mounts
        mounts=$(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
        [[ -n $mounts ]] || return 0
        for m in $mounts; do umount -l "$m" 2>/dev/null || true; done
    done
}

stop_pidfile() {
    local f=$1 pid
    [[ -f $f ]] || return 0
    pid=$(cat "$f" 2>/dev/null) || return 0
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    set +e
    log "cleaning up"
    [[ -z ${SERVE_SLEEP:-} ]] || kill "$SERVE_SLEEP" 2>/dev/null
    [[ -z ${WATCHDOG:-} ]] || kill -TERM "$WATCHDOG" 2>/dev/null
    if [[ -n ${DOCKER_SOCK:-} && -S $DOCKER_SOCK ]]; then
        # Containers first (none should be left), then the daemon and its managed containerd.
        dk ps -aq 2>/dev/null | xargs -r "${DOCKER[@]}" rm -f >/dev/null 2>&1
    fi
    stop_pidfile "$WORK/docker/dockerd.pid"
    # dockerd's managed containerd normally exits with it; make sure.
    stop_pidfile "$WORK/docker/exec/containerd/containerd.pid"
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    # runc containers that a failed iteration may have left.
    if [[ -d $WORK/runc/state ]]; then
        for p in $(runc --root "$WORK/runc/state" list -q 2>/dev/null); do
            runc --root "$WORK/runc/state" delete -f "$p" 2>/dev/null
        done
    fi
    if [[ -n ${KEEP_WORK:-} && -d $WORK/log ]]; then
        local keep
        keep=$(mktemp -d /var/tmp/mydock-bench-logs.XXXXXX)
        cp -a "$WORK/log" "$WORK/samples.txt" "$WORK/meta.txt" "$keep/" 2>/dev/null
        log "logs kept in $keep"
    fi
    umount_under "$WORK"
    [[ -z $LOOPDEV ]] || losetup -d "$LOOPDEV"
    local d
    for d in "${HOST_PATHS[@]}"; do
        [[ -e $d && -z ${HOST_BEFORE[$d]:-} ]] || continue
        case $d in
        /run/containerd | /run/runc) find "$d" -depth -type d -empty -delete 2>/dev/null ;;  # shared: only if empty
        *) rm -rf "$d" ;;
        esac
    done
    for d in $(cg_parents); do
        [[ -z ${CG_BEFORE[$d]:-} ]] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    rm -rf "$WORK" "$WORK.img"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The scratch filesystem. This host's / is ext4 mounted with online "discard": deleting a
# 10,000-file tree there takes ~40 s, and the discards stall later journal commits (and so the
# next engine's fsyncs). All state therefore lives on a fresh ext4 without discard, in a
# sparse file on the same disk behind a direct-I/O loop device (no double page cache).
# SCRATCH_FS=dir uses the plain directory instead.
if [[ ${SCRATCH_FS:-loop} == loop ]]; then
    truncate -s "${SCRATCH_SIZE:-8G}" "$WORK.img"
    # Inode tables and journal initialised now, so no lazy-init writes run during the runs.
    mkfs.ext4 -q -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 "$WORK.img"
    LOOPDEV=$(losetup --direct-io=on -f --show "$WORK.img")
    mount -o nodiscard "$LOOPDEV" "$WORK"
fi
mkdir -p "$WORK/log" "$WORK/tmp"
# Big temporary files (podman's and skopeo's layer downloads go to /var/tmp by default) stay
# on the scratch filesystem too, and go with it.
export TMPDIR=$WORK/tmp
: >"$RES"
: >"$META"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bg LOG CMD...: starts a background service, remembers its pid for the trap.
bg() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 &
    PIDS+=($!)
}

wait_for() {
    local what=$1
    shift
    for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    die "$what did not come up"
}

# ---------------------------------------------------------------------------------------------
# 3. Binaries: mydock (may not work yet: its numbers become n/a), the limit program
# ---------------------------------------------------------------------------------------------
MYDOCK_OK=1
if [[ $BUILD_MYDOCK == 1 ]]; then
    log "building mydock in $MYDOCK_BUILD_DIR"
    if ! { cmake -S "$SRC" -B "$MYDOCK_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
        ninja -C "$MYDOCK_BUILD_DIR" mydock mydock-init; } >"$WORK/log/build-mydock.log" 2>&1; then
        log "mydock does not build now (see below); measuring the binary already built, if any"
        tail -5 "$WORK/log/build-mydock.log" >&2
    fi
fi
if [[ -z $MYDOCK_BIN ]]; then
    for MYDOCK_BIN in "$MYDOCK_BUILD_DIR/src/cli/mydock" "$MYDOCK_BUILD_DIR/mydock"; do
        [[ -x $MYDOCK_BIN ]] && break
    done
fi
[[ -x $MYDOCK_BIN ]] || { log "no mydock binary at $MYDOCK_BIN: mydock numbers n/a"; MYDOCK_OK=; }

mkdir -p "$CACHE"
LIMIT=$CACHE/limit
if [[ ! -x $LIMIT || $BENCH/limit.cpp -nt $LIMIT ]]; then
    log "building the limit program"
    g++ -O2 -std=c++20 -Wall -Wextra "$BENCH/limit.cpp" -o "$LIMIT" -larchive -lz -lcrypto -pthread
fi

# ---------------------------------------------------------------------------------------------
# 4. Images, built here (never fetched), cached as OCI layouts under bench/.cache/oci
# ---------------------------------------------------------------------------------------------
OCI=$CACHE/oci-v$IMAGE_VERSION
mkdir -p "$OCI"

debian_mirror() {
    local m
    m=$(grep -hoE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)https?://[^[:space:]]+' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
        grep -oE 'https?://[^[:space:]]+' | grep -vE 'security|updates' | grep -E '/debian/?$' | head -1)
    echo "${m:-http://deb.debian.org/debian}"
}

# tar_layer OUT.tar.gz DIR ARGS...: a reproducible gzip layer of the given paths of DIR.
tar_layer() {
    local out=$1 dir=$2
    shift 2
    tar -C "$dir" --numeric-owner --sort=name --xattrs --format=posix \
        --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf - "$@" |
        gzip -6 -n >"$out.tmp"
    mv "$out.tmp" "$out"
}

build_debian() {
    [[ -f $OCI/debian/index.json && -f $OCI/debian-app/index.json ]] && return 0
    local root=$CACHE/debian-rootfs layers=$CACHE/debian-layers
    if [[ ! -f $root/.complete ]]; then
        rm -rf "$root"
        local mirror
        mirror=$(debian_mirror)
        log "debootstrap --variant=minbase bookworm from $mirror (a few minutes, once)"
        # python3 and curl make it a realistic application base (60+ MB compressed).
        debootstrap --variant=minbase --include=python3,ca-certificates,curl,less \
            bookworm "$root" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
            { umount_under "$root"; tail -20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed"; }
        umount_under "$root"
        # Leave no downloaded .debs or apt lists in the image, as image builders do.
        rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
            "$root"/var/log/* "$root"/debootstrap
        touch "$root/.complete"
    fi
    rm -rf "$layers" && mkdir -p "$layers"
    log "making the Debian layers"
    local top=()
    mapfile -t top < <(cd "$root" && find . -mindepth 1 -maxdepth 1 ! -name usr ! -name .complete | sort)
    # 1: /usr without /usr/share   2: /usr/share   3: everything else (/etc, /var, ...)
    local p1 p2 p3
    tar_layer "$layers/1.tar.gz" "$root" --exclude=./usr/share ./usr & p1=$!
    tar_layer "$layers/2.tar.gz" "$root" --no-recursion ./usr --recursion ./usr/share & p2=$!
    tar_layer "$layers/3.tar.gz" "$root" --no-recursion . --recursion "${top[@]}" & p3=$!
    wait $p1 && wait $p2 && wait $p3 || die "making the Debian layers failed"
    # 4 (second image only): an application layer of a few thousand small files.
    local app=$CACHE/debian-app-tree
    rm -rf "$app" && mkdir -p "$app/opt/app"
    python3 - "$app/opt/app" <<'EOF'
import os, sys, random
rnd = random.Random(6)
words = "alpha beta gamma delta layer image pull run store digest overlay mount".split()
for d in range(40):
    os.makedirs(f"{sys.argv[1]}/mod{d:02}")
    for f in range(50):
        with open(f"{sys.argv[1]}/mod{d:02}/file{f:02}.py", "w") as fh:
            for _ in range(rnd.randint(20, 200)):
                fh.write(" ".join(rnd.choice(words) for _ in range(8)) + f" = {rnd.random()}\n")
EOF
    tar_layer "$layers/4.tar.gz" "$app" ./opt
    rm -rf "$OCI/debian" "$OCI/debian-app"
    python3 "$BENCH/mkoci.py" "$OCI/debian" --cmd /bin/bash \
        --layer "$layers/1.tar.gz" --layer "$layers/2.tar.gz" --layer "$layers/3.tar.gz"
    python3 "$BENCH/mkoci.py" "$OCI/debian-app" --cmd /usr/bin/python3 \
        --layer "$layers/1.tar.gz" --layer "$layers/2.tar.gz" --layer "$layers/3.tar.gz" \
        --layer "$layers/4.tar.gz"
}

busybox_tree() {
    local dir=$1 a
    mkdir -p "$dir"/{bin,etc,dev,proc,sys,tmp,root,var/tmp}
    cp /bin/busybox "$dir/bin/busybox"
    for a in $(/bin/busybox --list); do
        [[ $a == busybox ]] || ln -sf busybox "$dir/bin/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
    chmod 1777 "$dir/tmp" "$dir/var/tmp"
}

build_busybox() {
    [[ -f $OCI/busybox/index.json && -f $OCI/layers100/index.json ]] && return 0
    log "making the busybox and 100-layer images"
    local t=$CACHE/busybox-build
    rm -rf "$t" && mkdir -p "$t/l"
    busybox_tree "$t/tree"
    tar_layer "$t/l/000.tar.gz" "$t/tree" .
    local args=(--layer "$t/l/000.tar.gz") i
    for ((i = 1; i < 100; i++)); do
        local d
        d=$t/tree$i
        mkdir -p "$d/layers"
        printf 'layer %d\n' "$i" >"$d/layers/$(printf %03d "$i")"
        tar_layer "$t/l/$(printf %03d "$i").tar.gz" "$d" ./layers
        args+=(--layer "$t/l/$(printf %03d "$i").tar.gz")
    done
    rm -rf "$OCI/busybox" "$OCI/layers100"
    python3 "$BENCH/mkoci.py" "$OCI/busybox" --cmd /bin/sh --layer "$t/l/000.tar.gz"
    python3 "$BENCH/mkoci.py" "$OCI/layers100" --cmd /bin/sh "${args[@]}"
    rm -rf "$t"
}

build_debian
build_busybox

# The layer blobs of an OCI layout, in manifest order.
layout_layers() {
    python3 - "$1" <<'EOF'
import json, sys
d = sys.argv[1]
idx = json.load(open(f"{d}/index.json"))
m = json.load(open(f"{d}/blobs/sha256/" + idx["manifests"][0]["digest"].split(":")[1]))
for l in m["layers"]:
    print(f"{d}/blobs/sha256/" + l["digest"].split(":")[1])
EOF
}
mapfile -t DEBIAN_BLOBS < <(layout_layers "$OCI/debian")
mapfile -t APP_BLOBS < <(layout_layers "$OCI/debian-app")

# ---------------------------------------------------------------------------------------------
# 5. Services: registry, dockerd, podman config, runc bundle
# ---------------------------------------------------------------------------------------------
REG_PORT=$(free_port)
REG=127.0.0.1:$REG_PORT
mkdir -p "$WORK/registry/storage"
cat >"$WORK/registry/config.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $WORK/registry/storage}
  delete: {enabled: true}
  maintenance: {uploadpurging: {enabled: false}}
http:
  addr: $REG
  secret: mydock-bench-secret
EOF
log "registry on $REG"
bg "$WORK/log/registry.log" /usr/bin/docker-registry serve "$WORK/registry/config.yml"
wait_for registry curl -fsS "http://$REG/v2/"

for img in debian debian-app busybox layers100; do
    log "pushing bench/$img"
    skopeo copy -q --dest-tls-verify=false "oci:$OCI/$img:latest" "docker://$REG/bench/$img:latest" >&2
done
IMG_DEBIAN=$REG/bench/debian:latest
IMG_APP=$REG/bench/debian-app:latest
IMG_BUSYBOX=$REG/bench/busybox:latest
IMG_L100=$REG/bench/layers100:latest

if [[ -n ${SERVE:-} ]]; then
    # Profiling aid: keep the registry with the bench images up until Ctrl-C.
    log "serving $IMG_DEBIAN $IMG_APP $IMG_BUSYBOX $IMG_L100 until Ctrl-C"
    # (wait, not a foreground sleep, so that the INT/TERM trap runs at once)
    while :; do
        sleep 3600 &
        SERVE_SLEEP=$!
        wait $SERVE_SLEEP
    done
fi

# A private dockerd: own data-root, exec-root and socket; no bridge, no iptables.
DOCKER_BIN=$(command -v /usr/bin/docker || command -v docker)
DOCKER_SOCK=$WORK/docker/docker.sock
DOCKER_DATA=$WORK/docker/data
DOCKER=("$DOCKER_BIN" -H "unix://$DOCKER_SOCK")
dk() { "${DOCKER[@]}" "$@"; }
mkdir -p "$WORK/docker/exec" "$DOCKER_DATA"
log "starting a private dockerd"
bg "$WORK/log/dockerd.log" dockerd --data-root "$DOCKER_DATA" --exec-root "$WORK/docker/exec" \
    --pidfile "$WORK/docker/dockerd.pid" -H "unix://$DOCKER_SOCK" --bridge=none \
    --iptables=false --ip6tables=false --ip-masq=false --insecure-registry "$REG" \
    --storage-driver overlay2 --log-level warn
wait_for dockerd dk version

# podman with its own configuration and storage; netns none, runc, cgroupfs.
PM=$WORK/podman
mkdir -p "$PM/tmp" "$PM/net"
cat >"$PM/containers.conf" <<EOF
[containers]
netns = "none"
# Modest limits: podman would raise nproc above what this host lets a container have.
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
log_driver = "k8s-file"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PM/events.log"
tmp_dir = "$PM/tmp"
[network]
network_config_dir = "$PM/net"
EOF
cat >"$PM/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$PM/storage"
runroot = "$PM/run"
EOF
cat >"$PM/registries.conf" <<EOF
unqualified-search-registries = []
[[registry]]
location = "$REG"
insecure = true
EOF
export CONTAINERS_CONF=$PM/containers.conf CONTAINERS_STORAGE_CONF=$PM/storage.conf
export CONTAINERS_REGISTRIES_CONF=$PM/registries.conf
pm() { podman "$@"; }

# runc: a bundle of the busybox rootfs, unpacked by umoci from the same OCI layout.
RUNC_STATE=$WORK/runc/state
RUNC_BUNDLE=$WORK/runc/bundle
mkdir -p "$RUNC_STATE"
umoci unpack --image "$OCI/busybox:latest" "$RUNC_BUNDLE" >"$WORK/log/umoci-bundle.log" 2>&1
jq '.process.args = ["/bin/true"] | .process.terminal = false' "$RUNC_BUNDLE/config.json" \
    >"$RUNC_BUNDLE/config.json.new" && mv "$RUNC_BUNDLE/config.json.new" "$RUNC_BUNDLE/config.json"

md() { "$MYDOCK_BIN" "$@"; }
md_untimed() { timeout -k 5 300 "$MYDOCK_BIN" "$@"; }   # set-up pulls: a hang must not stop the run

# ---------------------------------------------------------------------------------------------
# 6. Measuring
# ---------------------------------------------------------------------------------------------
declare -A FAILED=()

# A watchdog for one sample, forked before the clock starts: after SECS it kills this shell's
# children other than the services and itself (the hung command; a container dies with its
# engine), so one hang costs a key, not the run.
MAIN_PID=$$
watchdog_start() {
    (
        trap 'kill "$s" 2>/dev/null; exit 0' TERM
        sleep "$1" &
        s=$!
        wait "$s"
        local c p skip
        for c in $(cat "/proc/$MAIN_PID/task/$MAIN_PID/children" 2>/dev/null); do
            skip=
            for p in "${PIDS[@]}" "$BASHPID"; do [[ $c == "$p" ]] && skip=1; done
            [[ -n $skip ]] || kill -KILL "$c" 2>/dev/null || true
        done
    ) &
    WATCHDOG=$!
}
watchdog_stop() { kill -TERM "$WATCHDOG" 2>/dev/null; wait "$WATCHDOG" 2>/dev/null || true; }

# sample KEY CMD...: one timed run (bash's $EPOCHREALTIME, no fork for the clock). Output goes
# to the key's log. A failure or a time-out (SAMPLE_TIMEOUT s) marks the key failed and later
# samples of it are skipped.
SAMPLE_TIMEOUT=${SAMPLE_TIMEOUT:-300}
sample() {
    local key=$1 t0 t1 ok=
    shift
    [[ -z ${FAILED[$key]:-} ]] || return 1
    watchdog_start "$SAMPLE_TIMEOUT"
    t0=$EPOCHREALTIME
    "$@" >>"$WORK/log/$key.log" 2>&1 </dev/null && ok=1
    t1=$EPOCHREALTIME
    watchdog_stop
    if [[ -n $ok ]]; then
        echo "$key $t0 $t1" >>"$RES"
        return 0
    fi
    FAILED[$key]=1
    echo "$key FAIL" >>"$MAIN_RES"
    log "$key failed: $* (last lines of its log:)"
    tail -3 "$WORK/log/$key.log" | sed 's/^/    /' >&2
    return 1
}

# Caches between cold runs: flush what the previous run wrote, drop the page cache, then read
# back what stands for the network (the registry's blobs) and the clients' binaries, so each
# cold pull starts from the same state and pays only for its own work.
REG_BLOBS=$WORK/registry/storage/docker/registry/v2/blobs
cold_caches() {
    sync
    if [[ $DROP_CACHES == 1 ]]; then
        echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
        find "$REG_BLOBS" -type f -exec cat {} + >/dev/null
        local b
        for b in "$MYDOCK_BIN" "$(command -v podman)" "$(command -v skopeo)" "$(command -v umoci)" \
            "$LIMIT" "$DOCKER_BIN"; do
            [[ -f $b ]] && cat "$b" >/dev/null
        done
    fi
}

docker_clear() {
    dk ps -aq | xargs -r "${DOCKER[@]}" rm -f >/dev/null
    dk image ls -qa | sort -u | xargs -r "${DOCKER[@]}" rmi -f >/dev/null
    dk image prune -af >/dev/null
    # Really gone: no image and no layer directory left in overlay2 (only its "l" link dir).
    [[ -z $(dk image ls -qa) ]] || die "docker images left after rmi/prune"
    local left
    left=$(find "$DOCKER_DATA/overlay2" -mindepth 1 -maxdepth 1 ! -name l 2>/dev/null | wc -l)
    ((left == 0)) || die "docker left $left layer dirs after rmi/prune"
}

fresh() { umount_under "$1"; rm -rf "$1"; mkdir -p "$1"; }

pm_fresh_pull() { pm --root "$PM/cold/root" --runroot "$PM/cold/run" pull -q "$1"; }
skopeo_umoci() {
    skopeo copy -q --src-tls-verify=false "docker://$1" "oci:$WORK/su/layout:latest" &&
        umoci unpack --image "$WORK/su/layout:latest" "$WORK/su/bundle"
}

cold_pull_round() {   # IMAGE KEYPREFIX ENGINES...
    local img=$1 pfx=$2 e
    shift 2
    for e in "$@"; do
        local t0=$EPOCHREALTIME
        case $e in
        mydock)
            [[ -n $MYDOCK_OK ]] || continue
            fresh "$WORK/md-cold"
            cold_caches
            sample "$pfx.mydock" md --root "$WORK/md-cold" pull -q "$img" || true
            fresh "$WORK/md-cold"
            ;;
        docker)
            docker_clear
            cold_caches
            sample "$pfx.docker" dk pull -q "$img" || true
            ;;
        podman)
            fresh "$PM/cold"
            cold_caches
            sample "$pfx.podman" pm_fresh_pull "$img" || true
            fresh "$PM/cold"
            ;;
        skopeo)
            fresh "$WORK/su"
            cold_caches
            sample "$pfx.skopeo_umoci" skopeo_umoci "$img" || true
            fresh "$WORK/su"
            ;;
        limit)
            local flag
            for flag in nosync sync; do
                fresh "$WORK/limit"
                cold_caches
                cat "${DEBIAN_BLOBS[@]}" >/dev/null   # the limit reads the blobs from page cache
                if [[ $flag == sync ]]; then
                    sample "$pfx.limit_sync" "$LIMIT" --sync "$WORK/limit/out" "${DEBIAN_BLOBS[@]}" || true
                else
                    sample "$pfx.limit" "$LIMIT" "$WORK/limit/out" "${DEBIAN_BLOBS[@]}" || true
                fi
            done
            fresh "$WORK/limit"
            ;;
        esac
        [[ -z ${BENCH_DEBUG:-} ]] || log "   $pfx $e: $(python3 -c "print(round($EPOCHREALTIME - $t0, 2))") s with preparation"
    done
}

if want pull; then
    log "1. cold pull of bench/debian, $N_PULL rounds"
    for ((i = 1; i <= N_PULL; i++)); do
        log "   round $i"
        cold_pull_round "$IMG_DEBIAN" pull mydock docker podman skopeo limit
    done
    docker_clear
fi

if want run; then
    log "2. warm start, $N_RUN rounds"
    if [[ -n $MYDOCK_OK ]]; then
        mkdir -p "$WORK/md-warm"
        md_untimed --root "$WORK/md-warm" pull -q "$IMG_BUSYBOX" >"$WORK/log/md-warm-pull.log" 2>&1 ||
            { log "mydock pull of busybox failed: run numbers n/a"; FAILED[run.mydock]=1; FAILED[run.mydock.none]=1; }
    fi
    dk pull -q "$IMG_BUSYBOX" >/dev/null || log "docker pull of busybox failed"
    pm pull -q "$IMG_BUSYBOX" >/dev/null || log "podman pull of busybox failed"
    runc_run() { runc --root "$RUNC_STATE" run --bundle "$RUNC_BUNDLE" "$1"; }
    run_round() {   # ROUND: one run of every engine (interleaved so drift hits all alike)
        local r=$1
        if [[ -n $MYDOCK_OK ]]; then
            sample run.mydock md --root "$WORK/md-warm" run --rm "$IMG_BUSYBOX" /bin/true || true
            sample run.mydock.none md --root "$WORK/md-warm" run --rm --network none "$IMG_BUSYBOX" /bin/true || true
        fi
        sample run.docker dk run --rm "$IMG_BUSYBOX" /bin/true || true
        sample run.docker.none dk run --rm --network none "$IMG_BUSYBOX" /bin/true || true
        sample run.podman pm run --rm "$IMG_BUSYBOX" /bin/true || true
        sample run.podman.none pm run --rm --network none "$IMG_BUSYBOX" /bin/true || true
        sample run.runc runc_run "bench$r" || true
    }
    # Warm-up rounds (page cache, lazily created state), not recorded.
    SAVED_RES=$RES
    RES=$WORK/warmup.txt
    for ((i = 1; i <= 3; i++)); do run_round "w$i"; done
    RES=$SAVED_RES
    for ((i = 1; i <= N_RUN; i++)); do run_round "$i"; done
    rm -rf "$WORK/md-warm"
    umount_under "$PM/storage"
fi

if want disk; then
    log "3. disk use after pulling bench/debian and bench/debian-app (shared base)"
    # The ideal: each unique layer once, unpacked (measured by unpacking them with the limit
    # program), plus the compressed blobs for stores that keep them.
    fresh "$WORK/limit"
    "$LIMIT" "$WORK/limit/out" "${APP_BLOBS[@]}" 2>"$WORK/log/limit-disk.log" || log "limit failed"
    meta disk.ideal_unpacked "$(du -sb "$WORK/limit/out" | cut -f1)"
    meta disk.ideal_blobs "$(cat "${APP_BLOBS[@]}" | wc -c)"
    meta disk.app_layer_unpacked "$(du -sb "$WORK/limit/out/3" | cut -f1)"
    fresh "$WORK/limit"
    if [[ -n $MYDOCK_OK ]]; then
        fresh "$WORK/md-disk"
        if md_untimed --root "$WORK/md-disk" pull -q "$IMG_DEBIAN" >"$WORK/log/md-disk.log" 2>&1; then
            meta disk.mydock.one "$(du -sb "$WORK/md-disk" | cut -f1)"
            md_untimed --root "$WORK/md-disk" pull -q "$IMG_APP" >>"$WORK/log/md-disk.log" 2>&1 &&
                meta disk.mydock.two "$(du -sb "$WORK/md-disk" | cut -f1)"
        fi
        fresh "$WORK/md-disk"
    fi
    docker_clear
    docker_du() { du -sbc "$DOCKER_DATA/overlay2" "$DOCKER_DATA/image" | tail -1 | cut -f1; }
    base=$(docker_du)
    dk pull -q "$IMG_DEBIAN" >/dev/null && meta disk.docker.one $(($(docker_du) - base))
    dk pull -q "$IMG_APP" >/dev/null && meta disk.docker.two $(($(docker_du) - base))
    docker_clear
    fresh "$PM/cold"
    pm --root "$PM/cold/root" --runroot "$PM/cold/run" pull -q "$IMG_DEBIAN" >/dev/null &&
        meta disk.podman.one "$(du -sb "$PM/cold/root" | cut -f1)"
    pm --root "$PM/cold/root" --runroot "$PM/cold/run" pull -q "$IMG_APP" >/dev/null &&
        meta disk.podman.two "$(du -sb "$PM/cold/root" | cut -f1)"
    fresh "$PM/cold"
fi

if want l100; then
    log "4. the 100-layer image: $N_PULL cold pulls, $N_RUN100 runs"
    for ((i = 1; i <= N_PULL; i++)); do cold_pull_round "$IMG_L100" l100pull mydock docker; done
    docker_clear
    dk pull -q "$IMG_L100" >/dev/null || log "docker pull of the 100-layer image failed"
    if [[ -n $MYDOCK_OK ]]; then
        fresh "$WORK/md-l100"
        md_untimed --root "$WORK/md-l100" pull -q "$IMG_L100" >"$WORK/log/md-l100.log" 2>&1 ||
            FAILED[l100run.mydock]=1
    fi
    for ((i = 1; i <= N_RUN100; i++)); do
        [[ -z $MYDOCK_OK ]] || sample l100run.mydock md --root "$WORK/md-l100" run --rm "$IMG_L100" /bin/true || true
        sample l100run.docker dk run --rm "$IMG_L100" /bin/true || true
    done
    [[ -z $MYDOCK_OK ]] || fresh "$WORK/md-l100"
    docker_clear
fi

# ---------------------------------------------------------------------------------------------
# 7. The machine, the versions, the report
# ---------------------------------------------------------------------------------------------
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta cpu "$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
meta cores "$(nproc)"
meta load "$LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (1/5/15-minute load averages)"
meta ram "$(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
meta kernel "$(uname -r)"
host_dev=$(df --output=source /var/tmp | tail -1)
meta disk "$host_dev ($(df --output=fstype /var/tmp | tail -1), $(lsblk -dno SIZE "$host_dev" 2>/dev/null | tr -d ' '), rotational=$(lsblk -dno ROTA "$host_dev" 2>/dev/null | tr -d ' '), mount options $(findmnt -no OPTIONS -T /var/tmp | cut -c1-60)); state on $(if [[ -n $LOOPDEV ]]; then echo "a fresh ext4 (nodiscard) on a direct-I/O loop file on it"; else echo "$WORK"; fi)"
meta cgroups "$(if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then echo v2; else echo 'v1/hybrid'; fi)"
meta v.mydock "$( { [[ -n $MYDOCK_OK ]] && "$MYDOCK_BIN" version 2>/dev/null | head -1; } || true) (git $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$SRC" diff --quiet HEAD -- src 2>/dev/null || echo '+dirty'))"
meta v.docker "$(dk version -f '{{.Server.Version}}' 2>/dev/null), containerd $(containerd --version 2>/dev/null | awk '{print $3}')"
meta v.podman "$(podman --version | awk '{print $3}')"
meta v.runc "$(runc --version | awk 'NR==1 {print $3}')"
meta v.skopeo "$(skopeo --version | awk '{print $3}')"
meta v.umoci "$(umoci --version | awk '{print $3}')"
meta v.registry "$(/usr/bin/docker-registry --version 2>/dev/null | awk '{print $3}')"
meta img.debian "$(python3 "$BENCH/imginfo.py" "$OCI/debian")"
meta img.layers100 "$(python3 "$BENCH/imginfo.py" "$OCI/layers100")"
meta n "$N_PULL pulls, $N_RUN runs, $N_RUN100 runs of the 100-layer image, drop_caches=$DROP_CACHES"

python3 "$BENCH/report.py" "$RES" "$META" "$RESULTS"
log "wrote $RESULTS"
