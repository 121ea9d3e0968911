# For the bats files whose tests share one state root and its containers (run, exec, start,
# lifecycle): `load ../lib/containers` after `load ../lib/e2e`, then
# `setup_file() { ct_setup_file library/busybox ...; }`. The load also defines setup (ct_setup),
# teardown (ct_teardown) and teardown_file (md_cleanup of the file's tmp dir): a file defines
# its own after the load to do otherwise. See README.md.

_ct_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ct_setup_file IMAGE...: as root with a built MYDOCK_BIN (otherwise nothing: the tests skip),
# a registry (registry_start), CT_ROOT (the file's one --root: fixtures are pulled once), HOME,
# and the fixture IMAGEs (e.g. library/busybox test/app) pulled into CT_ROOT. Exports
# BB=$REG_HOST/library/busybox.
ct_setup_file() {
    [[ $(id -u) == 0 ]] || return 0
    [[ -x ${MYDOCK_BIN:-} ]] || return 0
    registry_start
    export CT_ROOT=$BATS_FILE_TMPDIR/root
    export HOME=$BATS_FILE_TMPDIR/home
    mkdir -p "$CT_ROOT" "$HOME"
    local img
    for img in "$@"; do
        "$MYDOCK_BIN" --root "$CT_ROOT" pull -q "$REG_HOST/$img" >/dev/null
    done
    export BB=$REG_HOST/library/busybox
}

# Per test: skips unless root, md_setup_root, then `mydock` works on CT_ROOT.
ct_setup() {
    md_require_root
    md_setup_root
    export MD_ROOT=$CT_ROOT
}

# Per test: every container of CT_ROOT is removed (rm -f); then md_teardown, and fails on a host
# mount under CT_ROOT, a mydock process of CT_ROOT, or a cgroup of a removed container.
ct_teardown() {
    local rc=0 ids id
    ids=$("$MYDOCK_BIN" --root "$CT_ROOT" ps -aq --no-trunc)
    [[ -z $ids ]] || "$MYDOCK_BIN" --root "$CT_ROOT" rm -f $ids >/dev/null || rc=1
    md_teardown || rc=1
    if grep -F -- "$CT_ROOT" /proc/self/mountinfo; then echo "host mounts left" >&2; rc=1; fi
    if pgrep -f -- "--root $CT_ROOT" >/dev/null; then echo "mydock processes left" >&2; pgrep -af -- "--root $CT_ROOT" >&2; rc=1; fi
    for id in $ids; do
        if ls -d /sys/fs/cgroup/*/mydock/"$id" /sys/fs/cgroup/mydock/"$id" 2>/dev/null; then echo "cgroup left" >&2; rc=1; fi
    done
    return $rc
}

# ct_pty ARG... <<'PY' SCRIPT: runs the python SCRIPT with ARGs as sys.argv[1:] and
# tests/lib/ptyexpect.py importable (`from ptyexpect import PtySession`: a command on a pty
# of its own, driven by expect/send/resize/wait).
ct_pty() {
    PYTHONPATH="$_ct_lib_dir${PYTHONPATH:+:$PYTHONPATH}" python3 - "$@"
}

# The default hooks (see the top).
setup() { ct_setup; }
teardown() { ct_teardown; }
teardown_file() { md_cleanup "$BATS_FILE_TMPDIR"; }
