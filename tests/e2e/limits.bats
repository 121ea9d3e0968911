#!/usr/bin/env bats
# Bounds on one layer's unpacked size and entry count (issue 4), set in the state root's
# config.json ("max-layer-size": bytes or "64k"/"10g"; "max-layer-entries"). A layer over a
# bound fails the pull clearly (exit 125) and leaves nothing behind.

load ../lib/e2e

setup_file() {
    registry_start
    export R=$REG_HOST
}
teardown_file() { md_cleanup "$BATS_FILE_TMPDIR"; }
setup() { md_setup_root; mkdir -p "$MD_ROOT"; }
teardown() { md_teardown; }

# nothing_left [--cache-ok]: no image, no staging/ingest leftovers (looked at BEFORE system
# check, which would remove them), no unpacked busybox, and a clean system check. With
# --cache-ok, small layers that completed before the refusal may stay as unreferenced cache
# (as after any failed pull: store.md), but never the refused one.
nothing_left() {
    [[ -z $(mydock images -q) ]] || { echo "an image is listed after a refused pull" >&2; return 1; }
    local d
    for d in staging ingest trash; do
        if [[ -d $MD_ROOT/$d && -n $(ls -A "$MD_ROOT/$d") ]]; then
            echo "leftovers in $d/: $(ls -A "$MD_ROOT/$d")" >&2
            return 1
        fi
    done
    if [[ ${1:-} != --cache-ok && -d $MD_ROOT/layers && -n $(ls -A "$MD_ROOT/layers") ]]; then
        echo "layers left: $(ls -A "$MD_ROOT/layers")" >&2
        return 1
    fi
    md_no_busybox_in_store
    md_system_check
}

@test "max-layer-size 64k: the busybox layer is refused, exit 125, nothing stored" {
    echo '{"max-layer-size": "64k"}' >"$MD_ROOT/config.json"
    run mydock pull "$R/library/busybox"
    assert_status 125
    assert_output_contains "unpacked size limit of 65536 bytes"
    nothing_left
}

@test "max-layer-size as a number of bytes, on a multi-layer image" {
    echo '{"max-layer-size": 100000}' >"$MD_ROOT/config.json"
    run mydock pull "$R/test/shared-a"
    assert_status 125
    assert_output_contains "unpacked size limit of 100000 bytes"
    md_layer_absent "$(fx test/shared-a:latest '.layers[0]')"
    nothing_left --cache-ok
}

@test "max-layer-entries 10: refused with the entry limit, exit 125, nothing stored" {
    echo '{"max-layer-entries": 10}' >"$MD_ROOT/config.json"
    run mydock pull "$R/library/busybox"
    assert_status 125
    assert_output_contains "entry limit of 10 entries"
    nothing_left
}

@test "run of a missing image under a limit fails the same way" {
    md_require_root
    echo '{"max-layer-entries": 10}' >"$MD_ROOT/config.json"
    run mydock run --rm "$R/library/busybox" true
    assert_status 125
    assert_output_contains "entry limit"
    nothing_left
}

@test "generous limits and the defaults both pull" {
    echo '{"max-layer-size": "1g", "max-layer-entries": 100000}' >"$MD_ROOT/config.json"
    run mydock pull "$R/library/busybox"
    assert_success
    assert_output_contains "Status: Downloaded newer image"
    md_system_check
    rm "$MD_ROOT/config.json"
    run mydock pull "$R/test/many"
    assert_success
    [[ $(md_layer_dirs "$R/test/many" | wc -l) == 100 ]]
    md_system_check
}

@test "an invalid limit in config.json is a clear error" {
    echo '{"max-layer-size": "12x"}' >"$MD_ROOT/config.json"
    run mydock images
    assert_status 125
    assert_output_contains "max-layer-size"
    echo '{"max-layer-entries": -1}' >"$MD_ROOT/config.json"
    run mydock images
    assert_status 125
    assert_output_contains "max-layer-entries"
}
