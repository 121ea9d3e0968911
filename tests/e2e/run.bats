#!/usr/bin/env bats
# `mydock run` end to end (issue 3): namespaces, overlay, config rules, exit codes, cgroups,
# stdin/pty, signals, --init, records, and that nothing leaks. Needs root.
load ../lib/e2e
load ../lib/containers   # ct_setup_file, ct_setup, ct_teardown, ct_pty
bats_require_minimum_version 1.5.0   # run -N

# One state root for the whole file: the fixtures are pulled once. setup and teardown_file:
# containers.bash's.
setup_file() { ct_setup_file library/busybox test/app test/entry test/many; }

teardown() {
    local rc=0
    md_teardown || rc=1
    # No mount of ours reached the host (overlays, binds and the rest live in the containers'
    # own mount namespaces) and no mydock of ours is left.
    if grep -F -- "$CT_ROOT" /proc/self/mountinfo; then echo "host mounts changed" >&2; rc=1; fi
    if pgrep -f -- "--root $CT_ROOT run" >/dev/null; then echo "mydock run still running" >&2; rc=1; fi
    return $rc
}

# The container's cgroup directories, whatever the hierarchy (v1 per controller, or v2).
cgroups_of() { ls -d /sys/fs/cgroup/*/mydock/"$1" /sys/fs/cgroup/mydock/"$1" 2>/dev/null || true; }

# run_limited ARGS...: `mydock run ARGS` as a named container (so its id is known), then
# checks that its cgroup is gone and removes it. Sets status and output like bats' run.
run_limited() {
    local name=lim-$RANDOM$RANDOM id
    run mydock run --name "$name" "$@"
    local st=$status out=$output
    id=$(jq -r --arg n "$name" 'select(.Name == $n) | .Id' "$MD_ROOT"/containers/*/config.json)
    [[ -n $id ]] || { echo "no record for $name" >&2; return 1; }
    local left
    left=$(cgroups_of "$id")
    [[ -z $left ]] || { echo "cgroup left: $left" >&2; return 1; }
    mydock rm "$name" >/dev/null
    status=$st output=$out
}

@test "a missing image is pulled first; --pull never and always" {
    local root=$BATS_TEST_TMPDIR/fresh
    run -125 "$MYDOCK_BIN" --root "$root" run --rm --pull never "$BB" true
    assert_output_contains "No such image: $BB:latest"
    run "$MYDOCK_BIN" --root "$root" run --rm "$BB" echo ok
    assert_success
    assert_output_contains "Unable to find image '$BB:latest' locally"
    assert_output_contains "Status: Downloaded newer image for $BB:latest"
    [[ ${lines[-1]} == ok ]]
    run "$MYDOCK_BIN" --root "$root" run --rm --pull always -q "$BB" echo again
    assert_success
    [[ $output == again ]]
    run "$MYDOCK_BIN" --root "$root" run --rm "$BB" echo cached
    [[ $output == cached ]]
}

# ---- namespaces and the root file system ----

@test "run echo" {
    run mydock run --rm "$BB" echo hi
    assert_success
    [[ $output == hi ]]
}

@test "the command is PID 1 and host processes are invisible" {
    run mydock run --rm "$BB" sh -c 'echo $$; ps -o pid,comm | tail -n +2 | wc -l'
    assert_success
    [[ ${lines[0]} == 1 ]]
    [[ ${lines[1]} -le 4 ]]   # sh, ps, tail, wc
}

@test "hostname is the short container id, or -h" {
    run mydock run --name hn "$BB" hostname
    assert_success
    local short=$output
    run mydock ps -a -q --no-trunc
    [[ $output == *"$short"* ]]
    [[ ${#short} == 12 ]]
    mydock rm hn
    run mydock run --rm -h box.example "$BB" sh -c 'hostname; cat /etc/hostname'
    [[ $output == "box.example"$'\n'"box.example" ]]
}

@test "--network none has only lo, up; --network host sees the host's interfaces" {
    run mydock run --rm --network none "$BB" sh -c 'ls /sys/class/net; cat /sys/class/net/lo/operstate; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping'
    assert_success
    [[ ${lines[0]} == lo ]]
    [[ ${#lines[@]} == 3 ]]
    [[ ${lines[2]} == ping ]]
    run mydock run --rm --network host "$BB" ls /sys/class/net
    assert_success
    # veths and bridges come and go with concurrent bridge containers: compare the rest.
    [[ $(echo "$output" | grep -Ev '^(veth|mydock|mdnb|mdt)' | sort) == $(ls /sys/class/net | grep -Ev '^(veth|mydock|mdnb|mdt)' | sort) ]]
}

@test "writes stay in their container: invisible to another and to the image" {
    run mydock run --rm "$BB" sh -c 'echo x > /tmp/f; echo y > /bin/new; cat /tmp/f'
    assert_success
    [[ $output == x ]]
    run -1 mydock run --rm "$BB" sh -c 'ls /tmp/f /bin/new'
    assert_status 1
    local dir
    for dir in $(md_layer_dirs "$BB" 2>/dev/null); do [[ ! -e $dir/tmp/f ]]; done
}

@test "the container's filesystems: proc, dev nodes, pts, shm, mqueue, ro sys, etc files" {
    run mydock run --rm "$BB" sh -c '
        grep -E " /(proc|dev|dev/pts|dev/shm|dev/mqueue|sys|sys/fs/cgroup) " /proc/self/mountinfo | awk "{print \$5, \$6}"
        ls /dev | tr "\n" " "; echo
        touch /sys/x 2>/dev/null || echo sys-ro
        grep -c localhost /etc/hosts; test -s /etc/resolv.conf && echo resolv'
    assert_success
    assert_output_matches '/proc rw,nosuid,nodev,noexec'
    assert_output_matches '/dev rw,nosuid'
    assert_output_matches '/dev/pts rw,nosuid,noexec'
    assert_output_matches '/dev/shm rw,nosuid,nodev,noexec'
    assert_output_matches '/dev/mqueue rw,nosuid,nodev,noexec'
    assert_output_matches '/sys ro,nosuid,nodev,noexec'
    assert_output_matches '/sys/fs/cgroup ro'
    assert_output_contains 'fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero'
    assert_output_contains sys-ro
    assert_output_contains resolv
}

@test "the host's mount table is unchanged after runs" {
    local before after
    before=$(awk '{print $5, $9, $10}' /proc/self/mountinfo | sort)
    mydock run --rm "$BB" true
    mydock run --rm --read-only -v "$BATS_TEST_TMPDIR:/v:ro" --tmpfs /t -m 32m "$BB" ls /v /t >/dev/null
    run -127 mydock run --rm "$BB" nosuchcommand
    mydock run --rm -it "$BB" true </dev/null >/dev/null 2>&1 || true
    after=$(awk '{print $5, $9, $10}' /proc/self/mountinfo | sort)
    # Other tests may mount things meanwhile; none of the new lines may be ours.
    local added
    added=$(comm -13 <(echo "$before") <(echo "$after"))
    echo "added: $added"
    ! grep -E "overlay|$CT_ROOT|$BATS_TEST_TMPDIR|mydock" <<<"$added"
}

@test "an image with 100 layers runs" {
    run mydock run --rm "$REG_HOST/test/many" sh -c 'ls /layers | wc -l; cat /layers/099'
    assert_success
    [[ ${lines[0]} == 99 ]]
    [[ ${lines[1]} == 99 ]]
}

@test "bind mounts read-write and read-only, --tmpfs, --read-only" {
    local host=$BATS_TEST_TMPDIR/vol
    mkdir -p "$host"
    echo data >"$host/in"
    run mydock run --rm -v "$host:/data" "$BB" sh -c 'cat /data/in; echo out > /data/out'
    assert_success
    [[ $output == data ]]
    [[ $(cat "$host/out") == out ]]
    run -1 mydock run --rm -v "$host:/data:ro" "$BB" sh -c 'cat /data/in; echo no > /data/no'
    assert_status 1
    assert_output_contains 'Read-only file system'
    [[ ! -e $host/no ]]
    run -1 mydock run --rm --read-only --tmpfs /scratch "$BB" sh -c 'echo t > /scratch/t && cat /scratch/t; touch /x'
    assert_status 1
    assert_output_contains t
    assert_output_contains 'Read-only file system'
    # a missing host path is created, as docker does
    run mydock run --rm -v "$BATS_TEST_TMPDIR/new/dir:/n" "$BB" ls -d /n
    assert_success
    [[ -d $BATS_TEST_TMPDIR/new/dir ]]
}

# ---- image config rules ----

@test "User by name with supplementary groups, WorkingDir created, Env merged" {
    run mydock run --rm "$REG_HOST/test/app"
    assert_success
    assert_output_contains 'uid=1000(app) gid=1000(app)'
    assert_output_contains '29(audio)'
    assert_output_contains '1001(staff)'
    [[ ${lines[1]} == /work/dir ]]
    [[ ${lines[2]} == fixture ]]
    run mydock run --rm -e APP_ENV=flag -e NEW=1 -u nobody -w /tmp "$REG_HOST/test/app" sh -c 'id -u; pwd; echo $APP_ENV $NEW $APP_EQ; echo $HOME'
    assert_success
    [[ $output == "65534"$'\n'"/tmp"$'\n'"flag 1 a=b"$'\n'"/home"* || $output == "65534"$'\n'"/tmp"$'\n'"flag 1 a=b"$'\n'* ]]
    run mydock run --rm -u 1000:1001 "$BB" id
    assert_output_contains 'uid=1000(app) gid=1001(staff)'
    printf 'FROM_FILE=yes\n# comment\n' >"$BATS_TEST_TMPDIR/env"
    run mydock run --rm --env-file "$BATS_TEST_TMPDIR/env" "$BB" sh -c 'echo $FROM_FILE $HOSTNAME'
    [[ ${output%% *} == yes ]]
    run -125 mydock run --rm -u nosuchuser "$BB" true
    assert_status 125
    assert_output_contains 'unable to find user nosuchuser'
}

@test "Entrypoint and Cmd are combined as docker does" {
    run mydock run --rm "$REG_HOST/test/entry"
    [[ $output == "ep default" ]]
    run mydock run --rm "$REG_HOST/test/entry" x y
    [[ $output == "ep x y" ]]
    run mydock run --rm --entrypoint /bin/echo "$REG_HOST/test/entry" other
    [[ $output == other ]]
    run mydock run --rm --entrypoint "" "$BB" echo cleared
    [[ $output == cleared ]]
}

# ---- exit codes ----

@test "exit codes: the command's, 125, 126, 127, 128+N" {
    run -3 mydock run --rm "$BB" sh -c 'exit 3'
    assert_status 3
    run -127 mydock run --rm "$BB" nosuchcommand
    assert_status 127
    assert_output_contains 'executable file not found'
    run -127 mydock run --rm "$BB" /no/such/path
    assert_status 127
    run -126 mydock run --rm "$BB" /etc/passwd
    assert_status 126
    run -143 mydock run --rm "$BB" sh -c "sh -c 'kill -TERM \$\$'; exit \$?"
    assert_status 143
    run -125 mydock run --rm --pull never "$REG_HOST/no/such" true
    assert_status 125
    run -125 mydock run --rm --network bogus "$BB" true
    assert_status 125
    # nothing of the failed containers stays (--rm)
    run mydock ps -a -q
    [[ -z $output ]]
}

@test "a memory limit that is exceeded OOM-kills: 137 and a message" {
    run_limited -m 16m "$BB" sh -c 'x=aaaaaaaaaaaaaaaaaaaa; while true; do x=$x$x; done'
    assert_status 137
    assert_output_contains 'OOM killed'
}

@test "a pids limit stops a fork loop; --cpus sets the CFS quota" {
    run_limited --pids-limit 10 "$BB" sh -c 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; for i in $(seq 40); do sleep 5 & done; echo all-forked'
    [[ $status -ne 0 ]]
    [[ ${lines[0]} == 10 ]]
    assert_output_contains "can't fork"
    assert_output_not_contains all-forked
    run_limited --cpus 0.5 "$BB" sh -c 'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max'
    assert_success
    [[ $output == "50000"$'\n'"100000" || $output == "50000 100000" ]]
}

# ---- stdio, terminal, signals ----

@test "-i passes stdin; without -i stdin is empty" {
    run bash -c "echo data | '$MYDOCK_BIN' --root '$MD_ROOT' run --rm -i '$BB' cat"
    assert_success
    [[ $output == data ]]
    run bash -c "echo data | '$MYDOCK_BIN' --root '$MD_ROOT' run --rm '$BB' cat"
    assert_success
    [[ -z $output ]]
}

# Drives `mydock run` on a pty of its own: prompt, tty name, window size, Ctrl-C, exit status.
pty_session() {
    ct_pty "$@" <<'PY'
import sys
from ptyexpect import PtySession
s = PtySession(sys.argv[1:], rows=33, cols=101)
s.expect("# ")
s.send(b"tty; stty size\r")
s.expect("/dev/pts/0")
s.expect("33 101")
s.expect("# ")
s.check_ctrl_c()
s.send(b"echo after-$?\r")
s.expect("after-130")
s.expect("# ")
# the window size follows the caller's terminal (SIGWINCH)
s.check_resize(40, 120)
s.send(b"exit 7\r")
print("exit", s.wait())
PY
}

@test "a hung-up terminal ends the container" {
    run python3 - "$MYDOCK_BIN" --root "$MD_ROOT" run --rm -it "$BB" sh <<'PY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
buf = b""
while b"# " not in buf:
    r, _, _ = select.select([fd], [], [], 10)
    if not r:
        sys.exit("no prompt")
    buf += os.read(fd, 4096)
os.close(fd)
for _ in range(50):
    p, status = os.waitpid(pid, os.WNOHANG)
    if p:
        print("ended", os.waitstatus_to_exitcode(status))
        sys.exit(0)
    time.sleep(0.1)
os.kill(pid, 9)
sys.exit("mydock still runs 5 s after its terminal hung up")
PY
}

@test "-it gives a real terminal: prompt, /dev/pts/0, window size, Ctrl-C" {
    run pty_session "$MYDOCK_BIN" --root "$MD_ROOT" run --rm -it "$BB" sh
    echo "$output"
    assert_success
    assert_output_contains 'exit 7'
}

@test "at a terminal, run with neither -i nor -t acts as -it" {
    run pty_session "$MYDOCK_BIN" --root "$MD_ROOT" run --rm "$BB" sh
    echo "$output"
    assert_success
    assert_output_contains 'exit 7'
}

@test "signals sent to mydock reach the container" {
    local out=$BATS_TEST_TMPDIR/out
    "$MYDOCK_BIN" --root "$MD_ROOT" run --rm "$BB" sh -c 'trap "echo got-TERM; exit 42" TERM; echo ready; while :; do sleep 0.1; done' >"$out" 2>&1 3>&- &
    local pid=$! i
    for ((i = 0; i < 50; i++)); do grep -q ready "$out" && break; sleep 0.1; done
    kill -TERM $pid
    local rc=0
    wait $pid || rc=$?
    cat "$out"
    [[ $rc == 42 ]]
    grep -q got-TERM "$out"
}

@test "--init: a reaper is PID 1, forwards signals and passes the exit status on" {
    run -5 mydock run --rm --init "$BB" sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; echo $$; exit 5'
    assert_status 5
    assert_output_contains '/sbin/mydock-init -- sh -c'
    [[ ${lines[1]} != 1 ]]
    # A plain `sleep` ignores SIGTERM as PID 1; behind the init it dies of it (128+15).
    "$MYDOCK_BIN" --root "$MD_ROOT" run --rm --init "$BB" sleep 30 3>&- &
    local pid=$! rc=0
    sleep 1
    kill -TERM $pid
    wait $pid || rc=$?
    [[ $rc == 143 ]]
    run -127 mydock run --rm --init "$BB" nosuchcommand
    assert_status 127
}

# ---- records, --rm, and dying with mydock ----

@test "without --rm the container stays for ps -a and rm; --rm leaves nothing" {
    run -3 mydock run --name keep "$BB" sh -c 'exit 3'
    assert_status 3
    run mydock ps -a
    assert_success
    assert_output_matches '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES'
    assert_output_contains 'Exited (3)'
    assert_output_contains '"sh -c '"'"'exit 3'"'"'"'
    assert_output_contains keep
    run mydock ps
    [[ ${#lines[@]} == 1 ]]
    local id
    id=$(mydock ps -a -q)
    [[ -d $MD_ROOT/containers/$(mydock ps -a -q --no-trunc) ]]
    run -125 mydock run --name keep "$BB" true
    assert_status 125
    assert_output_contains 'already in use'
    # rmi refuses an image a container uses
    run mydock rmi "$BB"
    [[ $status -ne 0 ]]
    run mydock rm "$id"
    assert_success
    [[ $output == "$id" ]]
    run mydock ps -a -q
    [[ -z $output ]]
    run -1 mydock rm keep
    assert_status 1
    assert_output_contains 'No such container: keep'
    ls "$MD_ROOT/containers" | grep -qv '^\.' && return 1
    run mydock run --rm "$BB" true
    [[ -z $(ls "$MD_ROOT/containers") ]]
}

@test "a container dies with a SIGKILLed mydock; later runs collect its cgroup and --rm leftovers" {
    "$MYDOCK_BIN" --root "$MD_ROOT" run --rm -m 64m "$BB" sh -c 'echo started; sleep 300' >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
    local pid=$! i
    for ((i = 0; i < 50; i++)); do grep -q started "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
    local child id
    child=$(pgrep -P $pid)
    [[ -n $child ]]
    id=$(ls "$MD_ROOT/containers")
    [[ -n $(cgroups_of "$id") ]]
    kill -KILL $pid
    wait $pid || true
    for ((i = 0; i < 50; i++)); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
    ! kill -0 "$child" 2>/dev/null
    ! pgrep -f 'sleep 300' >/dev/null
    # the record shows it ended; the next run removes what --rm would have removed
    run mydock ps -a
    assert_output_contains 'Exited (137)'
    sleep 3.2
    run mydock run --rm "$BB" true
    assert_success
    [[ -z $(ls "$MD_ROOT/containers") ]]
    run mydock ps -a -q
    [[ -z $output ]]
    # A run without limits makes no cgroup and leaves the others alone (issue 6: speed); the
    # next run that makes one collects the stale ones.
    run mydock run --rm -m 64m "$BB" true
    assert_success
    [[ -z $(cgroups_of "$id") ]]
}

@test "setup failures leave nothing behind" {
    run -125 mydock run --rm -v /nonexistent-dir-for-mydock/x:/etc/passwd/x "$BB" true
    assert_output_contains 'failed to start container: mount'
    run -127 mydock run --rm -m 64m "$BB" nosuchcommand
    assert_status 127
    [[ -z $(ls "$MD_ROOT/containers") ]]
    rm -rf /nonexistent-dir-for-mydock
}
