#!/usr/bin/env bats
# mydock exec (issue 5): a process in a running container's namespaces and cgroups, with its
# capabilities, seccomp filter, env and user, exit status passed through, -i/-t/-d, signals,
# and that nothing leaks. Needs root.
load ../lib/e2e
load ../lib/containers   # ct_setup_file, ct_setup, ct_teardown, ct_pty
bats_require_minimum_version 1.5.0

setup_file() {
    ct_setup_file library/busybox test/app
    export APP=$REG_HOST/test/app
}
# setup and teardown_file: containers.bash's.

# Every container of the test is removed; then no mount, process or cgroup of ours is left
# (ct_teardown), and no process a test exec'd (they all sleep for 42NN seconds).
teardown() {
    local rc=0 i
    ct_teardown || rc=1
    for ((i = 0; i < 20; i++)); do pgrep -f '^sleep 42[0-9][0-9]$' >/dev/null || break; sleep 0.1; done
    if pgrep -f '^sleep 42[0-9][0-9]$' >/dev/null; then echo "exec'd processes left" >&2; pgrep -af '^sleep 42' >&2; rc=1; fi
    return $rc
}

# A detached container running `sleep 4200`; prints its full id.
start_c() {
    "$MYDOCK_BIN" --root "$CT_ROOT" run -d "$@"
}
pid1_of() { jq -r .State.Pid "$CT_ROOT/containers/$1/config.json"; }
status_of() { grep -E "^$1:" <<<"$output" | awk '{print $2}'; }
host_bounding() { awk '/^CapBnd:/ {print $2}' /proc/self/status; }
# The host pid of the one process whose command line is exactly "$1" (waits 2 s for it).
host_pid_of() {
    local i p
    for ((i = 0; i < 20; i++)); do
        p=$(pgrep -xf -- "$1" || true)
        [[ -n $p ]] && { echo "$p"; return 0; }
        sleep 0.1
    done
    return 1
}

@test "exec sees the container's processes, hostname and filesystem" {
    local id
    id=$(start_c --name ex1 "$BB" sleep 4200)
    run mydock exec ex1 sh -c 'tr "\0" " " </proc/1/cmdline'
    assert_success
    [[ $output == "sleep 4200 " ]]
    run mydock exec ex1 ps
    assert_success
    grep -Eq '^ *1 .*sleep 4200' <<<"$output"
    run mydock exec ex1 hostname
    assert_success
    [[ $output == "${id:0:12}" ]]
    # id prefixes work too, and the exec'd process has a small pid of the container's namespace
    run mydock exec "${id:0:5}" sh -c 'echo pid=$$'
    assert_success
    [[ $output =~ ^pid=[0-9]$|^pid=[0-9][0-9]$ ]]
    run mydock exec ex1 sh -c 'echo written >/tmp/f; cat /tmp/f'
    assert_output_contains written
    run mydock exec ex1 cat /tmp/f
    assert_output_contains written
    [[ ! -e /tmp/f ]] || ! grep -q written /tmp/f
}

@test "the exec'd process is in every namespace and the cgroups of the container's PID 1" {
    local id p1 p
    id=$(start_c -m 64m "$BB" sleep 4200)
    run mydock exec -d "$id" sleep 4201
    assert_success
    [[ -z $output ]]
    p1=$(pid1_of "$id")
    p=$(host_pid_of 'sleep 4201')
    for ns in mnt pid uts ipc net cgroup; do
        [[ $(readlink /proc/$p/ns/$ns) == "$(readlink /proc/$p1/ns/$ns)" ]] || { echo "ns $ns differs" >&2; false; }
    done
    diff <(cat /proc/$p1/cgroup) <(cat /proc/$p/cgroup)
    grep -q "/mydock/$id" /proc/$p/cgroup
    # as seen from inside: the same cgroup as PID 1 (the cgroup namespace's root)
    run mydock exec "$id" sh -c 'cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup'
    assert_success
    [[ ${output%%---*} == "$(sed -n '/---/,$p' <<<"$output" | tail -n +2)"$'\n' ]]
}

@test "the exit status passes through: the command's, 127 not found, 126 not executable" {
    start_c --name ex2 "$BB" sleep 4200 >/dev/null
    run mydock exec ex2 sh -c 'exit 7'
    assert_status 7
    run mydock exec ex2 sh -c 'kill -TERM $$'
    assert_status 143
    run -127 mydock exec ex2 nosuchcommand
    assert_status 127
    assert_output_contains 'executable file not found in $PATH'
    run -127 mydock exec ex2 /no/such/file
    assert_status 127
    run mydock exec ex2 /etc/passwd
    assert_status 126
    run mydock exec -w /no/such/dir ex2 true
    assert_status 126
    assert_output_contains 'chdir to cwd ("/no/such/dir")'
    # the container is unharmed
    run mydock exec ex2 true
    assert_success
}

@test "-e, --env-file, -w, -u; the container's env, workdir and user by default" {
    printf 'FROMFILE=yes\nB=file\n' >"$BATS_TEST_TMPDIR/env"
    start_c --name ex3 -e A=1 -e B=2 -w /var "$BB" sleep 4200 >/dev/null
    run mydock exec ex3 env
    assert_success
    assert_output_contains A=1
    assert_output_contains B=2
    assert_output_contains HOSTNAME=
    assert_output_contains HOME=/root
    assert_output_contains PATH=/usr/local/sbin
    run mydock exec -e B=3 -e C=4 --env-file "$BATS_TEST_TMPDIR/env" ex3 env
    assert_output_contains A=1
    assert_output_contains B=3
    assert_output_contains C=4
    assert_output_contains FROMFILE=yes
    run mydock exec ex3 pwd
    [[ $output == /var ]]
    run mydock exec -w /tmp ex3 pwd
    [[ $output == /tmp ]]
    run mydock exec ex3 id
    [[ $output == "uid=0(root) gid=0(root)"* ]]
    run mydock exec -u 1000:1000 ex3 id
    assert_success
    [[ $output == "uid=1000(app) gid=1000(app)"* ]]
    run mydock exec -u app ex3 sh -c 'id; echo $HOME'
    assert_output_contains 'uid=1000(app) gid=1000(app)'
    assert_output_contains '1001(staff)'
    assert_output_contains /home/app
    run mydock exec -u nosuchuser ex3 id
    [[ $status -ne 0 ]]
    assert_output_contains 'unable to find user nosuchuser'
    # an image whose User and WorkingDir are not root's
    start_c --name ex3app "$APP" sleep 4200 >/dev/null
    run mydock exec ex3app sh -c 'id -u; pwd; echo $APP_ENV'
    assert_success
    [[ $output == $'1000\n/work/dir\nfixture' ]]
    run mydock exec -u 0 ex3app id -u
    [[ $output == 0 ]]
}

@test "the container's capabilities, seccomp filter and no_new_privs; exec --privileged widens caps" {
    start_c --name dflt "$BB" sleep 4200 >/dev/null
    run mydock exec dflt grep -E '^(Cap|Seccomp:|NoNewPrivs)' /proc/self/status
    assert_success
    [[ $(status_of CapEff) == 00000000a80425fb ]]
    [[ $(status_of CapBnd) == 00000000a80425fb ]]
    [[ $(status_of CapInh) == 0000000000000000 ]]
    [[ $(status_of Seccomp) == 2 ]]
    [[ $(status_of NoNewPrivs) == 0 ]]
    run mydock exec dflt unshare -m true
    [[ $status -ne 0 ]]
    run mydock exec dflt mount -t tmpfs none /mnt
    [[ $status -ne 0 ]]
    run mydock exec -u 1000 dflt grep -E '^CapEff' /proc/self/status
    [[ $(status_of CapEff) == 0000000000000000 ]]
    # exec --privileged: every capability, still the container's seccomp filter (docker's)
    run mydock exec --privileged dflt grep -E '^(CapEff|Seccomp):' /proc/self/status
    [[ $(status_of CapEff) == "$(host_bounding)" ]]
    [[ $(status_of Seccomp) == 2 ]]

    start_c --name dropped --cap-drop ALL --cap-add NET_RAW --security-opt no-new-privileges "$BB" sleep 4200 >/dev/null
    run mydock exec dropped grep -E '^(CapEff|NoNewPrivs):' /proc/self/status
    [[ $(status_of CapEff) == 0000000000002000 ]]
    [[ $(status_of NoNewPrivs) == 1 ]]

    start_c --name priv --privileged "$BB" sleep 4200 >/dev/null
    run mydock exec priv grep -E '^(CapEff|Seccomp):' /proc/self/status
    [[ $(status_of CapEff) == "$(host_bounding)" ]]
    [[ $(status_of Seccomp) == 0 ]]

    start_c --name unconf --security-opt seccomp=unconfined "$BB" sleep 4200 >/dev/null
    run mydock exec unconf grep -E '^Seccomp:' /proc/self/status
    [[ $(status_of Seccomp) == 0 ]]
}

@test "the exec'd process gets fds 0, 1, 2 only and no host terminal" {
    start_c --name exfd "$BB" sleep 4200 >/dev/null
    # (ls lists the shell's fds, not its own)
    run mydock exec exfd sh -c 'ls /proc/$$/fd; true'
    assert_success
    [[ $output == $'0\n1\n2' ]]
    run bash -c "echo x | '$MYDOCK_BIN' --root '$CT_ROOT' exec -i exfd sh -c 'ls /proc/\$\$/fd; true' 7</dev/null"
    assert_success
    [[ $output == $'0\n1\n2' ]]
    # under a terminal without -t: stdio is relayed through pipes, never the host's tty
    run ct_pty "$MYDOCK_BIN" --root "$CT_ROOT" exec exfd sh -c 'readlink /proc/self/fd/1; tty' <<'PY'
import sys
from ptyexpect import PtySession
s = PtySession(sys.argv[1:])
out = s.read_all()
s.wait()
sys.stdout.write(out.decode())
PY
    assert_output_contains 'pipe:'
    assert_output_contains 'not a tty'
}

@test "exec into a stopped or unknown container fails as docker's" {
    local id
    id=$(start_c --name short "$BB" true)
    run mydock wait short
    run mydock exec short true
    assert_status 1
    assert_output_contains "Error response from daemon: container $id is not running"
    run mydock exec nosuch true
    assert_status 1
    assert_output_contains "Error response from daemon: No such container: nosuch"
    run mydock exec short
    assert_status 1
    assert_output_contains 'requires at least 2 arguments'
}

@test "exec -d leaves a process running in the container; it dies with the container" {
    local id
    id=$(start_c --name ex4 "$BB" sleep 4200)
    run mydock exec -d ex4 sleep 4202
    assert_success
    [[ -z $output ]]
    run mydock exec ex4 ps
    assert_output_contains 'sleep 4202'
    local p
    p=$(host_pid_of 'sleep 4202')
    # re-parented to the container's PID 1, not to a host process
    [[ $(awk '/^PPid:/ {print $2}' /proc/$p/status) == $(pid1_of "$id") ]]
    run mydock kill ex4
    assert_success
    run mydock wait ex4
    local i
    for ((i = 0; i < 20; i++)); do [[ -e /proc/$p ]] || break; sleep 0.1; done
    [[ ! -e /proc/$p ]]
}

@test "-i relays stdin; without -i stdin is empty" {
    start_c --name ex5 "$BB" sleep 4200 >/dev/null
    run bash -c "printf 'hello\nworld\n' | '$MYDOCK_BIN' --root '$CT_ROOT' exec -i ex5 cat"
    assert_success
    [[ $output == $'hello\nworld' ]]
    run bash -c "printf 'hello\n' | '$MYDOCK_BIN' --root '$CT_ROOT' exec ex5 cat"
    assert_success
    [[ -z $output ]]
    run bash -c "head -c 300000 /dev/zero | '$MYDOCK_BIN' --root '$CT_ROOT' exec -i ex5 wc -c"
    [[ $output == *300000* ]]
}

@test "-it gives a terminal from the container: prompt, tty, window size, Ctrl-C, exit status" {
    start_c --name ex6 "$BB" sleep 4200 >/dev/null
    run ct_pty "$MYDOCK_BIN" --root "$CT_ROOT" exec -it ex6 sh <<'PY'
import sys
from ptyexpect import PtySession
s = PtySession(sys.argv[1:], rows=33, cols=101)
s.expect("# ")
s.send(b"tty; stty size; echo TERM=$TERM\r")
s.expect("/dev/pts/")
s.expect("33 101")
s.expect("TERM=xterm")
s.expect("# ")
s.check_ctrl_c()
s.check_resize(40, 120)
s.send(b"exit 3\r")
print("exit", s.wait())
PY
    echo "$output"
    assert_success
    assert_output_contains 'exit 3'
    # the container's own console is untouched
    run mydock exec ex6 true
    assert_success
}

@test "-t without a terminal still gives the command a pty" {
    start_c --name ex7 "$BB" sleep 4200 >/dev/null
    run mydock exec -t ex7 sh -c 'tty; exit 4'
    assert_status 4
    assert_output_contains /dev/pts/
}

@test "signals sent to mydock exec reach the process; SIGKILL of mydock exec kills it" {
    start_c --name ex8 "$BB" sleep 4200 >/dev/null
    local out=$BATS_TEST_TMPDIR/out
    "$MYDOCK_BIN" --root "$CT_ROOT" exec ex8 sh -c 'trap "echo got-TERM; exit 42" TERM; echo ready; while :; do sleep 0.1; done' >"$out" 2>&1 3>&- &
    local pid=$! i rc=0
    for ((i = 0; i < 50; i++)); do grep -q ready "$out" && break; sleep 0.1; done
    kill -TERM $pid
    wait $pid || rc=$?
    cat "$out"
    [[ $rc == 42 ]]
    grep -q got-TERM "$out"

    "$MYDOCK_BIN" --root "$CT_ROOT" exec ex8 sleep 4203 3>&- &
    pid=$!
    local p
    p=$(host_pid_of 'sleep 4203')
    kill -9 $pid
    wait $pid || true
    for ((i = 0; i < 20; i++)); do [[ -e /proc/$p ]] || break; sleep 0.1; done
    [[ ! -e /proc/$p ]]
}

@test "an exec'd process dies when the container stops" {
    start_c --name ex9 "$BB" sleep 4200 >/dev/null
    "$MYDOCK_BIN" --root "$CT_ROOT" exec ex9 sleep 4204 3>&- &
    local pid=$! rc=0 p
    p=$(host_pid_of 'sleep 4204')
    run mydock kill ex9
    assert_success
    wait $pid || rc=$?
    [[ $rc == 137 ]]
    [[ ! -e /proc/$p ]]
}

@test "exec into a foreground container and one with --init" {
    local out=$BATS_TEST_TMPDIR/out
    "$MYDOCK_BIN" --root "$CT_ROOT" run --name fg "$BB" sleep 4205 >"$out" 2>&1 3>&- &
    local pid=$! i
    for ((i = 0; i < 50; i++)); do
        "$MYDOCK_BIN" --root "$CT_ROOT" exec fg true 2>/dev/null && break
        sleep 0.1
    done
    run mydock exec fg cat /proc/1/cmdline
    assert_success
    assert_output_contains sleep
    run mydock kill fg
    wait $pid || true

    start_c --name withinit --init "$BB" sleep 4200 >/dev/null
    run mydock exec withinit sh -c 'exit 5'
    assert_status 5
}

