#!/usr/bin/env bats
# libcurl, libarchive and libcrypto are dlopen'ed on first use (issue 6): mydock does not link
# them, so version/images/ps/run of a local image never load them; pull loads them.

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

@test "lazy libs: the binary does not link libcurl, libarchive nor libcrypto" {
    run readelf -d "$MYDOCK_BIN"
    assert_success
    assert_output_contains "libc.so.6"
    [[ $output != *libcurl* ]] || { echo "$output" | grep NEEDED >&2; false; }
    [[ $output != *libarchive* ]] || { echo "$output" | grep NEEDED >&2; false; }
    [[ $output != *libcrypto* ]] || { echo "$output" | grep NEEDED >&2; false; }
}

@test "lazy libs: version, images, ps load neither" {
    local verb out
    for verb in version images ps; do
        out=$(ld_files $verb)
        [[ -n $out ]] || { echo "no loader log for $verb" >&2; false; }
        [[ $out != *libcurl* && $out != *libarchive* && $out != *libcrypto* ]] || { echo "$verb loaded: $out" >&2; false; }
    done
}

@test "lazy libs: pull loads them, run of the pulled image none" {
    md_require_root
    local out
    out=$(ld_files pull -q "$R/library/busybox")
    [[ $out == *libcurl.so.4* && $out == *libarchive.so.13* && $out == *libcrypto.so.3* ]] || { echo "pull loaded: $out" >&2; false; }
    out=$(ld_files run --rm --network none "$R/library/busybox" true)
    [[ -n $out ]] || { echo "no loader log for run" >&2; false; }
    [[ $out != *libcurl* && $out != *libarchive* && $out != *libcrypto* ]] || { echo "run loaded: $out" >&2; false; }
}
