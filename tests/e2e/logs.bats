#!/usr/bin/env bats
# The json-file log of containers run in the foreground (run without -d, start -a, run -a, -t):
# what mydock shows is logged too, as docker does, so `logs` works afterwards and `logs -f`
# follows it meanwhile. The relay keeps the output byte for byte, per stream, and the exit
# code; a closed stdout of mydock neither kills nor blocks the container. Needs root.
load ../lib/e2e
load ../lib/containers   # ct_setup_file, ct_setup, ct_teardown, ct_pty
bats_require_minimum_version 1.5.0

# setup, teardown (every container removed; no mount, process or cgroup left): containers.bash
setup_file() { ct_setup_file library/busybox; }

field() { mydock inspect "$1" | jq -r ".[0].$2"; }
logfile() { local id; id=$(field "$1" Id); echo "$CT_ROOT/containers/$id/$id-json.log"; }

@test "run in the foreground: stdout and stderr shown apart, both logged; logs separates them" {
    run --separate-stderr mydock run --name fg "$BB" sh -c 'echo out; echo err >&2; echo out2; exit 3'
    [[ $status == 3 ]]
    [[ $output == $'out\nout2' ]]
    [[ $stderr == err ]]
    run --separate-stderr mydock logs fg
    assert_success
    [[ $output == $'out\nout2' ]]
    [[ $stderr == err ]]
    # docker's json-file records
    local log
    log=$(logfile fg)
    [[ $(wc -l <"$log") == 3 ]]
    [[ $(jq -r 'select(.stream=="stderr") | .log' "$log") == err ]]
    jq -e '.time | test("^[0-9-]+T[0-9:.]+Z$")' "$log" >/dev/null
    [[ $(field fg State.ExitCode) == 3 ]]
    # start -a appends its run to the same log
    run -3 mydock start -a fg
    run mydock logs fg
    [[ $(grep -c out2 <<<"$output") == 2 ]]
}

@test "binary output passes through unchanged; each stream keeps its order" {
    local out=$BATS_TEST_TMPDIR/bin
    mydock run --name bin "$BB" sh -c 'head -c 100000 /dev/urandom >/tmp/d; sha256sum /tmp/d >&2; cat /tmp/d' \
        >"$out" 2>"$out.sum"
    [[ $(sha256sum <"$out" | cut -d' ' -f1) == $(cut -d' ' -f1 "$out.sum") ]]
    [[ $(stat -c %s "$out") == 100000 ]]
    # Both streams at once, many writes: each arrives whole and in order, in the log too.
    run --separate-stderr mydock run --name seqs "$BB" sh -c 'seq 1 20000 & seq 1 20000 >&2; wait'
    assert_success
    [[ $output == "$(seq 1 20000)" ]]
    [[ $stderr == "$(seq 1 20000)" ]]
    run --separate-stderr mydock logs seqs
    [[ $output == "$(seq 1 20000)" ]]
    [[ $stderr == "$(seq 1 20000)" ]]
}

@test "exit codes and signals are the container's; --rm still removes it" {
    run -7 mydock run --name e7 "$BB" sh -c 'echo bye; exit 7'
    [[ $output == bye ]]
    run -137 mydock run "$BB" sh -c 'sleep 30 & kill -9 $!; wait $!'
    run -127 mydock run "$BB" /no/such/cmd
    run mydock run --rm --name gone "$BB" sh -c 'echo rm-out; echo rm-err >&2'
    assert_success
    [[ $output == *rm-out* && $output == *rm-err* ]]
    run -1 mydock logs gone
    run mydock ps -aq -f name=gone
    [[ -z $output ]]
    # stdin still passes (-i), and is /dev/null without it
    run mydock run --rm -i "$BB" cat <<<"piped"
    [[ $output == piped ]]
    run mydock run --rm "$BB" cat <<<"piped"
    [[ -z $output ]]
}

@test "a closed stdout of mydock: the container runs on, logging, and ends with its own code" {
    local out=$BATS_TEST_TMPDIR/head
    # head exits after one line; the container writes on (far past a pipe's buffer).
    timeout 60 bash -c '"$MYDOCK_BIN" --root "$CT_ROOT" run --name closed "$BB" sh -c "seq 1 50000; echo done >&2; exit 5" 2>"$1.err" | head -1 >"$1"; echo "${PIPESTATUS[0]}" >"$1.rc"' _ "$out"
    [[ $(cat "$out") == 1 ]]
    [[ $(cat "$out.rc") == 5 ]]
    [[ $(field closed State.ExitCode) == 5 ]]
    run --separate-stderr mydock logs closed
    [[ $(wc -l <<<"$output") == 50000 ]]
    [[ $(tail -1 <<<"$output") == 50000 ]]
    [[ $stderr == done ]]
    [[ $(cat "$out.err") == done ]]
    # A reader that is gone before anything is written.
    run timeout 30 bash -c '"$MYDOCK_BIN" --root "$CT_ROOT" run "$BB" sh -c "sleep 0.3; seq 1 20000; exit 6" | true; echo "rc=${PIPESTATUS[0]}"'
    [[ $output == rc=6 ]]
}

@test "run -t: the pty's output is logged as stdout" {
    ct_pty "$MYDOCK_BIN" --root "$CT_ROOT" run -t --name tty "$BB" sh -c 'tty; echo tty-out; echo tty-err >&2; exit 4' <<'PY'
import sys
from ptyexpect import PtySession
s = PtySession(sys.argv[1:])
s.expect("tty-out")
s.expect("tty-err")
s.read_all()
assert s.wait() == 4
PY
    run --separate-stderr mydock logs tty
    assert_output_contains /dev/pts/0
    assert_output_contains tty-out
    assert_output_contains tty-err
    [[ -z $stderr ]]
    [[ $(jq -r .stream "$(logfile tty)" | sort -u) == stdout ]]
}

@test "logs -f follows a foreground container from elsewhere until it ends" {
    local out=$BATS_TEST_TMPDIR/fg.out follow=$BATS_TEST_TMPDIR/follow.out i
    mydock run --name live "$BB" sh -c 'echo first; sleep 2; echo second' >"$out" &
    local pid=$!
    for i in $(seq 100); do [[ $(mydock logs live 2>/dev/null) == first ]] && break; sleep 0.1; done
    [[ $(mydock logs live) == first ]]
    [[ $(field live State.Status) == running ]]
    timeout 20 "$MYDOCK_BIN" --root "$CT_ROOT" logs -f live >"$follow"
    wait "$pid"
    [[ $(cat "$follow") == $'first\nsecond' ]]
    [[ $(cat "$out") == $'first\nsecond' ]]
}

# (run -a stdout: only stdout shown, both streams logged: start.bats)
