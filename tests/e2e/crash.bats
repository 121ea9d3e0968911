#!/usr/bin/env bats
# kill -9 at many moments of `rmi` and `run` (issue 4, "Faults"). After each kill: system check
# is clean, no overlay mount of the root is left on the host, no process of the container is
# left, and the next command (pull, run, ps -a, rm) works.

load ../lib/e2e

setup_file() {
    [[ $(id -u) == 0 ]] || return 0
    [[ -x ${MYDOCK_BIN:-} ]] || return 0
    registry_start
    export R=$REG_HOST BB=$REG_HOST/library/busybox
}
teardown_file() { md_cleanup "$BATS_FILE_TMPDIR"; }
setup() { md_require_root; md_setup_root; }
teardown() { md_teardown; }

# Delays in seconds: every 5 ms over the first 50 ms (where rmi does all its work and run
# sets up), then a few later moments (a running container).
DELAYS=(0 0.005 0.01 0.015 0.02 0.025 0.03 0.035 0.04 0.045 0.05 0.08 0.12 0.2 0.3)

# kill_at DELAY CMD...: starts `mydock CMD` on this root, SIGKILLs it after DELAY seconds.
kill_at() {
    local delay=$1
    shift
    "$MYDOCK_BIN" --root "$MD_ROOT" "$@" >"$BATS_TEST_TMPDIR/cmd.out" 2>&1 </dev/null &
    local pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# no_root_mounts: nothing under the state root is mounted on the host.
no_root_mounts() {
    if grep -F -- "$MD_ROOT" /proc/self/mountinfo >&2; then
        echo "mounts of the root left on the host ($1)" >&2
        return 1
    fi
}

# checked WHAT: system check clean and no mount left, saying after which kill.
checked() {
    md_system_check || { echo "after $1" >&2; return 1; }
    no_root_mounts "$1"
}

# image_intact NAME CONTENT: NAME is listed, its layers exist and hold busybox and /name.
image_intact() {
    local dirs
    dirs=$(md_layer_dirs "$R/$1") || { echo "$1: no layers ($2)" >&2; return 1; }
    [[ $(wc -l <<<"$dirs") == 2 ]] || { echo "$1: layers $dirs ($2)" >&2; return 1; }
    [[ -x $(head -n 1 <<<"$dirs")/bin/busybox ]] || { echo "$1: base layer damaged ($2)" >&2; return 1; }
    [[ $(cat "$(tail -n 1 <<<"$dirs")/name") == "$3" ]] || { echo "$1: top layer damaged ($2)" >&2; return 1; }
}

@test "kill -9 at many moments of rmi of an image sharing its base layer" {
    local delay
    mydock pull -q "$R/test/shared-b" >/dev/null
    for delay in "${DELAYS[@]}"; do
        mydock pull -q "$R/test/shared-a" >/dev/null
        kill_at "$delay" rmi "$R/test/shared-a"
        local at="kill -9 of rmi at ${delay}s"
        checked "$at"
        # The other image is whole; the removed one is either whole or gone.
        image_intact test/shared-b "$at" b
        if mydock inspect "$R/test/shared-a" >/dev/null 2>&1; then
            image_intact test/shared-a "$at" a
            run mydock run --rm "$R/test/shared-a" cat /name
            assert_success
            [[ $output == a ]] || { echo "$at: run printed $output" >&2; false; }
        fi
        run mydock run --rm "$R/test/shared-b" cat /name
        assert_success
        [[ $output == b ]] || { echo "$at: run printed $output" >&2; false; }
    done
    # The next commands work: a re-pull, an rmi to the end, and the store ends empty.
    run mydock pull "$R/test/shared-a"
    assert_success
    mydock rmi "$R/test/shared-a" "$R/test/shared-b" >/dev/null
    [[ -z $(mydock images -q) ]]
    [[ -z $(ls -A "$MD_ROOT/layers") ]]
    md_system_check
}

# container_gone MARKER: no process of the container ("sleep MARKER") within 5 s.
container_gone() {
    local i
    for ((i = 0; i < 50; i++)); do
        pgrep -f "sleep $1" >/dev/null || return 0
        sleep 0.1
    done
    echo "container process left: $(pgrep -af "sleep $1")" >&2
    pkill -9 -f "sleep $1" || true
    return 1
}

# kill_runs BASE [RUN-FLAGS...]: kill -9 of `run RUN-FLAGS` at every delay, checking each time.
# BASE makes the marker argument of each round ("sleep BASE+N") unique to the test.
kill_runs() {
    local base=$1 delay n=0 id ids=()
    shift
    mydock pull -q "$BB" >/dev/null
    for delay in "${DELAYS[@]}"; do
        n=$((n + 1))
        local marker=$((base + n))
        kill_at "$delay" run "$@" "$BB" sh -c "sleep $marker; echo never"
        local at="kill -9 of run $* at ${delay}s"
        container_gone "$marker" || { echo "$at" >&2; return 1; }
        checked "$at"
        run mydock ps -a -q --no-trunc
        assert_success
        ids+=($output)
        # The next run works, and leaves nothing when --rm.
        run mydock run --rm "$BB" echo ok
        assert_success
        [[ $output == ok ]] || { echo "$at: run printed $output" >&2; return 1; }
        # Whatever the killed run left is removable.
        for id in $(mydock ps -a -q); do
            run mydock rm -f "$id"
            assert_success
        done
        [[ -z $(mydock ps -a -q) ]] || { echo "$at: containers left after rm" >&2; return 1; }
        # A dir whose record was never written (killed inside create) was collected by the
        # next run: nothing at all is left.
        local d
        for d in "$MD_ROOT"/containers/*; do
            [[ -e $d ]] || continue
            echo "$at: left $d: $(ls "$d")" >&2
            return 1
        done
        checked "$at, then rm"
    done
    # No cgroup of any of them is left, and the image is free again (no hold kept).
    for id in "${ids[@]}"; do
        if ls -d /sys/fs/cgroup/*/mydock/"$id" /sys/fs/cgroup/mydock/"$id" 2>/dev/null; then
            echo "cgroup of $id left" >&2
            return 1
        fi
    done
    # A hold only lives while its container's record does, and a stale one (its mydock
    # killed between the two) is dropped by the next run: the image is free again.
    local h
    for h in $(ls "$MD_ROOT/holds"); do
        [[ $h == *.tmp-* ]] && continue
        echo "image hold of a container that does not exist: holds/$h" >&2
        return 1
    done
    run mydock rmi "$BB"
    assert_success
    md_system_check
}

@test "kill -9 at many moments of run --rm" {
    kill_runs 41000 --rm
}

@test "kill -9 at many moments of run (no --rm)" {
    kill_runs 42000
}

# setuid() clears the parent-death signal: the container of another user must die too.
@test "kill -9 at many moments of run --rm -u 1000" {
    kill_runs 43000 --rm -u 1000
}
