#!/usr/bin/env bats
# libcurl, libarchive, libcrypto, zlib, libzstd and libseccomp are dlopen'ed on first use
# (issue 6): mydock does not link them, so version/images/ps/run of a local image never load
# them; pull loads them, and a run loads libseccomp only to compile a filter it has not cached.

load ../lib/e2e

setup_file() {
    registry_start
    export R=$REG_HOST
}
teardown_file() { md_cleanup "$BATS_FILE_TMPDIR"; }
setup() { md_setup_root; }
teardown() { md_teardown; }

# ld_files CMD...: runs mydock CMD with the loader logging every object it loads (one log
# per process, children included); prints the sonames loaded, one a line.
ld_files() {
    local d=$BATS_TEST_TMPDIR/ld.$RANDOM
    mkdir -p "$d"
    LD_DEBUG=files LD_DEBUG_OUTPUT=$d/log "$MYDOCK_BIN" --root "$MD_ROOT" "$@" >"$d/out" 2>&1 || {
        cat "$d/out" >&2
        return 1
    }
    cat "$d"/log.* | sed -n 's/.*file=\([^ ]*\) .*\[0\];  *needed by.*/\1/p; s/.*file=\([^ ]*\) .*\[0\];  *dynamically loaded by.*/\1/p' | sort -u
}

# The lazily loaded libraries, as ld_files names them.
LAZY_LIBS=(libcurl.so.4 libarchive.so.13 libcrypto.so.3 libz.so.1 libzstd.so.1 libseccomp.so.2)

# loads_none WHAT OUT [LIB...]: fails, saying what, when OUT (ld_files' list) names one of
# the LIBs (default: every lazy library).
loads_none() {
    local what=$1 out=$2 l
    shift 2
    (($#)) || set -- "${LAZY_LIBS[@]}"
    for l in "$@"; do
        if grep -qxF "$l" <<<"$out"; then
            echo "$what loaded $l: $(echo $out)" >&2
            return 1
        fi
    done
}

@test "lazy libs: the binary links none of libcurl, libarchive, libcrypto, zlib, libzstd, libseccomp" {
    run readelf -d "$MYDOCK_BIN"
    assert_success
    assert_output_contains "libc.so.6"
    local l
    for l in libcurl libarchive libcrypto libz.so libzstd libseccomp; do
        [[ $output != *"[$l"* ]] || { echo "$output" | grep NEEDED >&2; false; }
    done
}

@test "lazy libs: version, images, ps load neither" {
    local verb out
    for verb in version images ps; do
        out=$(ld_files $verb)
        [[ -n $out ]] || { echo "no loader log for $verb" >&2; false; }
        loads_none "$verb" "$out"
    done
}

@test "lazy libs: pull loads them; a first run only libseccomp (to compile); a warm run none" {
    md_require_root
    local out
    out=$(ld_files pull -q "$R/library/busybox")
    [[ $out == *libcurl.so.4* && $out == *libarchive.so.13* && $out == *libcrypto.so.3* && $out == *libz.so.1* ]] || { echo "pull loaded: $out" >&2; false; }
    # No seccomp filter cached yet: compiled with libseccomp, and cached.
    out=$(ld_files run --rm --network none "$R/library/busybox" true)
    [[ -n $out ]] || { echo "no loader log for run" >&2; false; }
    grep -qxF libseccomp.so.2 <<<"$out" || { echo "first run did not load libseccomp: $out" >&2; false; }
    loads_none "first run" "$out" libcurl.so.4 libarchive.so.13 libcrypto.so.3 libz.so.1 libzstd.so.1
    ls "$MD_ROOT"/cache/seccomp-*.bpf >/dev/null
    # Warm: the cached BPF, no library at all (exec and a second container alike).
    out=$(ld_files run --rm --network none "$R/library/busybox" true)
    [[ -n $out ]] || { echo "no loader log for run" >&2; false; }
    loads_none "warm run" "$out"
    run mydock run --rm --network none "$R/library/busybox" sh -c 'exit 3'
    assert_status 3
}

@test "lazy libs: zstd and gzip layers still pull and run (libzstd and zlib loaded then)" {
    md_require_root
    local out
    out=$(ld_files pull -q "$R/library/busybox:zstd")
    grep -qxF libzstd.so.1 <<<"$out" || { echo "pull of a zstd layer did not load libzstd: $out" >&2; false; }
    run mydock run --rm --network none "$R/library/busybox:zstd" echo zstd-ok
    assert_success
    assert_output_contains zstd-ok
    run mydock pull -q "$R/library/busybox:schema2"
    assert_success
    run mydock run --rm --network none "$R/library/busybox:schema2" echo gzip-ok
    assert_success
    assert_output_contains gzip-ok
}

@test "lazy libs: a libseccomp that cannot be loaded is a clear error, not a crash" {
    md_require_root
    run mydock pull -q "$R/library/busybox"
    assert_success
    # A broken libseccomp.so.2 first in the search path (LD_LIBRARY_PATH is part of the cache
    # key, so no cached filter hides it): the filter cannot be compiled, the run fails cleanly.
    local lib=$BATS_TEST_TMPDIR/badlib
    mkdir -p "$lib"
    : >"$lib/libseccomp.so.2"
    LD_LIBRARY_PATH=$lib run mydock run --rm --network none "$R/library/busybox" true
    assert_status 125
    assert_output_contains "libseccomp.so.2 is needed to compile the seccomp filter (Debian package libseccomp2)"
    # Nothing left behind, and the same run without the broken library works.
    run mydock ps -aq
    assert_success
    [[ -z $output ]] || { echo "left: $output" >&2; false; }
    run mydock run --rm --network none "$R/library/busybox" echo fine
    assert_success
    assert_output_contains fine
}
