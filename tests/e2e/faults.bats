#!/usr/bin/env bats
# Pull under faults (issue 4): a fault proxy in front of the test registry corrupts, cuts,
# stalls, throttles and lies; mydock is killed mid-pull; pulls race; the disk fills up.
# Every failure must be clear (exit 125) and leave nothing unverified in the store.

load ../lib/e2e

setup_file() {
    registry_start
    export R=$REG_HOST
}
teardown_file() { md_cleanup "$BATS_FILE_TMPDIR"; }
setup() { md_require_root; md_setup_root; }
teardown() { md_teardown; }

# nothing_stored: no image listed, no unpacked busybox anywhere in the root, check clean.
nothing_stored() {
    [[ -z $(mydock images -q) ]] || { echo "an image is listed after a failed pull" >&2; return 1; }
    md_no_busybox_in_store
    md_system_check
}

@test "a corrupted byte in a layer: digest error, exit 125, nothing stored" {
    proxy_start corrupt
    run mydock pull "$PROXY_HOST/library/busybox"
    assert_status 125
    assert_output_matches "[Dd]igest|checksum|verif"
    nothing_stored
    proxy_stop
    run mydock pull -q "$R/library/busybox"     # the same root works afterwards
    assert_success
}

@test "a corrupted manifest header (Docker-Content-Digest disagrees): exit 125, nothing stored" {
    proxy_start digest-mismatch
    run mydock pull "$PROXY_HOST/library/busybox"
    assert_status 125
    assert_output_matches "[Dd]igest"
    nothing_stored
}

@test "a 5 MB manifest is refused: exit 125, nothing stored" {
    proxy_start big-manifest
    run mydock pull "$PROXY_HOST/library/busybox"
    assert_status 125
    assert_output_matches "[Mm]anifest"
    nothing_stored
}

@test "a layer digest with ../ is refused before it is used as a path" {
    rm -f /tmp/evil
    proxy_start evil-digest
    run mydock pull "$PROXY_HOST/library/busybox"
    assert_status 125
    assert_output_matches "[Dd]igest"
    [[ ! -e /tmp/evil ]]
    [[ $(grep -c 'blobs/sha256:\.\.' "$PROXY_LOG") -eq 0 ]]
    nothing_stored
}

@test "a blob cut midway is resumed with a Range request" {
    proxy_start cut --times 1
    run mydock pull "$PROXY_HOST/library/busybox"
    assert_success
    cat "$PROXY_LOG"
    grep -q 'action=cut' "$PROXY_LOG"
    grep -Eq 'range=bytes=[1-9][0-9]*- .*status=206' "$PROXY_LOG"
    [[ $(mydock images -q) == "$(fx library/busybox:latest .config | cut -c8-19)" ]]
    md_system_check
}

@test "a blob cut three times still arrives" {
    proxy_start cut --times 3
    run mydock pull -q "$PROXY_HOST/library/busybox"
    assert_success
    [[ $(grep -c 'action=cut' "$PROXY_LOG") == 3 ]]
    md_system_check
}

@test "429 with Retry-After is honoured, then the pull succeeds" {
    proxy_start status --status 429 --retry-after 2 --times 1 --match /manifests/
    local t0=$SECONDS
    run mydock pull -q "$PROXY_HOST/library/busybox"
    assert_success
    [[ $((SECONDS - t0)) -ge 2 ]] || { echo "retried after $((SECONDS - t0))s, Retry-After said 2" >&2; false; }
    grep -q 'status=429' "$PROXY_LOG"
}

@test "429 on a layer blob, then success" {
    proxy_start status --status 429 --retry-after 1 --times 2 --match /blobs/
    run mydock pull -q "$PROXY_HOST/test/shared-a"
    assert_success
    [[ $(grep -c 'status=429' "$PROXY_LOG") == 2 ]]
}

@test "500 twice then success; 500 forever fails after bounded retries" {
    proxy_start status --status 500 --times 2 --match /blobs/
    run mydock pull -q "$PROXY_HOST/library/busybox"
    assert_success
    proxy_stop
    proxy_start status --status 500 --match /blobs/
    local t0=$SECONDS
    run mydock pull "$PROXY_HOST/test/whiteout"   # shares no blob with busybox
    assert_status 125
    [[ $((SECONDS - t0)) -lt 120 ]]
    local n
    n=$(grep -c 'status=500' "$PROXY_LOG")
    echo "requests answered 500: $n"
    [[ $n -ge 2 && $n -le 20 ]]
    [[ $(mydock images -q) == "$(fx library/busybox:latest .config | cut -c8-19)" ]]
    md_system_check
}

@test "a stall of 3 s in the middle of a blob is waited out" {
    proxy_start stall --stall 3 --times 1
    run mydock pull -q "$PROXY_HOST/library/busybox"
    assert_success
    grep -q 'action=stall' "$PROXY_LOG"
}

@test "kill -9 in the middle of a pull, then a clean re-pull and system check" {
    proxy_start stall --stall 30 --times 1
    "$MYDOCK_BIN" --root "$MD_ROOT" pull "$PROXY_HOST/test/shared-a" >"$BATS_TEST_TMPDIR/pull.out" 2>&1 &
    local pid=$! i
    for ((i = 0; i < 100; i++)); do grep -q 'action=stall' "$PROXY_LOG" && break; sleep 0.1; done
    grep -q 'action=stall' "$PROXY_LOG"
    sleep 0.3
    kill -9 "$pid"
    wait "$pid" || true
    run mydock images -q
    assert_success
    [[ -z $output ]]
    run mydock pull "$R/test/shared-a"
    assert_success
    assert_output_contains "Status: Downloaded newer image"
    md_system_check
    [[ $(cat "$(md_layer_dirs "$R/test/shared-a" | tail -n 1)/name") == a ]]
}

@test "kill -9 at many moments of a 100-layer pull: the store stays consistent" {
    local delay
    for delay in 0.05 0.15 0.3 0.5 0.8 1.2 1.7; do
        "$MYDOCK_BIN" --root "$MD_ROOT" pull -q "$R/test/many" >/dev/null 2>&1 &
        local pid=$!
        sleep "$delay"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" || true
        run mydock images -q
        assert_success
        md_system_check || { echo "after kill -9 at ${delay}s" >&2; false; }
        if [[ -n $(mydock images -q) ]]; then     # it finished first: start over
            mydock rmi -f "$R/test/many" >/dev/null
        fi
    done
    run mydock pull -q "$R/test/many"
    assert_success
    [[ $(md_layer_dirs "$R/test/many" | wc -l) == 100 ]]
    md_system_check
}

@test "eight concurrent pulls of overlapping images" {
    local names=(library/busybox library/busybox:multi test/app test/entry test/many test/shared-a
        test/shared-b test/whiteout) n pids=() rc=0 i=0
    for n in "${names[@]}"; do
        "$MYDOCK_BIN" --root "$MD_ROOT" pull -q "$R/$n" >"$BATS_TEST_TMPDIR/pull.$i" 2>&1 &
        pids+=($!)
        i=$((i + 1))
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || { rc=1; echo "pull of ${names[$i]} failed:"; cat "$BATS_TEST_TMPDIR/pull.$i"; }
    done
    [[ $rc == 0 ]]
    [[ $(mydock images -q | sort -u | wc -l) == 8 ]]
    md_system_check
}

@test "pulls racing with rmi of an image sharing their base layer" {
    mydock pull -q "$R/test/shared-a" >/dev/null
    local i
    for i in 1 2 3; do
        "$MYDOCK_BIN" --root "$MD_ROOT" pull -q "$R/test/shared-b" >"$BATS_TEST_TMPDIR/pull.out" 2>&1 &
        local pid=$!
        mydock rmi "$R/test/shared-a" >/dev/null 2>&1 || true
        wait "$pid" || { cat "$BATS_TEST_TMPDIR/pull.out"; false; }
        [[ $(cat "$(md_layer_dirs "$R/test/shared-b" | head -n 1)/etc/passwd" | head -c 4) == root ]]
        md_system_check
        mydock rmi "$R/test/shared-b" >/dev/null
        mydock pull -q "$R/test/shared-a" >/dev/null
    done
}

@test "a full disk: clear error, nothing half-written" {
    mount -t tmpfs -o size=1m mydock-test-full "$MD_ROOT"
    run mydock pull "$R/library/busybox"
    local st=$status out=$output
    run mydock images -q
    local images=$output
    local left
    left=$(find "$MD_ROOT" -name busybox -type f | head -n 3)
    run mydock system check
    local check=$status
    umount "$MD_ROOT"
    status=$st output=$out
    assert_status 125
    assert_output_matches "[Nn]o space|disk|full"
    [[ -z $images ]]
    [[ -z $left ]] || { echo "left: $left" >&2; false; }
    [[ $check == 0 ]]
}
