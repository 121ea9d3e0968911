#!/usr/bin/env bats
# start, restart, run --restart and run -a (issue 5): a stopped container runs again on its
# kept upper dir from its saved spec; restart policies live in the monitor; a user's stop is
# final; nothing leaks. Needs root.
load ../lib/e2e
load ../lib/containers   # ct_setup_file, ct_setup, ct_teardown, ct_pty
bats_require_minimum_version 1.5.0

# setup, teardown (every container removed; no mount, process or cgroup left): containers.bash
setup_file() { ct_setup_file library/busybox; }

field() { mydock inspect "$1" | jq -r ".[0].$2"; }

# Waits (at most $3 tenths of a second, default 100) until inspect's $2 of $1 equals $4.
wait_field() {
    local c=$1 f=$2 n=${3:-100} want=$4 i
    for ((i = 0; i < n; i++)); do
        [[ $(field "$c" "$f") == "$want" ]] && return 0
        sleep 0.1
    done
    echo "$c: $f is $(field "$c" "$f"), not $want" >&2
    return 1
}

@test "start -a runs an exited container again on its upper dir; the exit code passes through" {
    run -3 mydock run --name again "$BB" sh -c 'echo run >> /data.txt; cat /data.txt; exit 3'
    [[ $output == run ]]
    local started1
    started1=$(field again State.StartedAt)
    [[ $(field again State.Status) == exited ]]
    run -3 mydock start -a again
    [[ $output == $'run\nrun' ]]
    [[ $(field again State.ExitCode) == 3 ]]
    [[ $(field again State.StartedAt) != "$started1" ]]
    run -3 mydock start --attach again
    [[ $output == $'run\nrun\nrun' ]]
    # The saved spec: every field of runtime/spec.h and a version.
    local id
    id=$(field again Id)
    jq -e '.version == 1 and .argv[0] == "sh" and (.stateRoot | length > 0)' "$CT_ROOT/containers/$id/spec.json"
}

@test "start (detached) prints the name, returns at once; logs show every detached run; start of a running container is a no-op" {
    run mydock run -d --name det "$BB" sh -c 'echo out-$$; echo err >&2'
    assert_success
    run mydock wait det
    [[ $output == 0 ]]
    local t0=$SECONDS
    run mydock start det
    assert_success
    [[ $output == det ]]
    (( SECONDS - t0 < 3 ))
    run mydock wait det
    [[ $output == 0 ]]
    run --separate-stderr mydock logs det
    [[ $output == $'out-1\nout-1' ]]
    [[ $stderr == $'err\nerr' ]]

    # A container first run in the foreground gets its log when started detached.
    run mydock run --name fg "$BB" sh -c 'echo fg-run'
    [[ $output == fg-run ]]
    run mydock start fg
    [[ $output == fg ]]
    mydock wait fg
    run mydock logs fg
    [[ $output == $'fg-run\nfg-run' ]]   # the foreground run is logged too, as in docker

    mydock run -d --name up "$BB" sleep 30
    local pid
    pid=$(field up State.Pid)
    run mydock start up
    assert_success
    [[ $output == up ]]
    [[ $(field up State.Pid) == "$pid" ]]
    [[ $(field up State.Status) == running ]]
}

@test "start of a missing or removed --rm container: docker's messages, exit 1" {
    run mydock run --rm --name gone "$BB" true
    assert_success
    run -1 --separate-stderr mydock start gone
    [[ $stderr == *"Error response from daemon: No such container: gone"* ]]
    [[ $stderr == *"Error: failed to start containers: gone"* ]]
    mydock run --name ok1 "$BB" true
    run -1 --separate-stderr mydock start nosuch1 ok1 nosuch2
    [[ $output == ok1 ]]
    [[ $stderr == *"Error: failed to start containers: nosuch1, nosuch2"* ]]
    mydock wait ok1
    # A record without its saved spec (made by an older mydock) can't be started: said clearly.
    rm "$CT_ROOT/containers/$(field ok1 Id)/spec.json"
    run -1 mydock start ok1
    assert_output_contains "cannot be started"
    run -1 mydock start -a ok1
    assert_output_contains "cannot be started"
}

@test "restart of a running container changes its pid and StartedAt; restart of an exited one starts it" {
    mydock run -d --name rs "$BB" sleep 60
    local pid started
    pid=$(field rs State.Pid)
    started=$(field rs State.StartedAt)
    run mydock restart -t 1 rs
    assert_success
    [[ $output == rs ]]
    [[ $(field rs State.Status) == running ]]
    [[ $(field rs State.Pid) != "$pid" ]]
    [[ $(field rs State.StartedAt) != "$started" ]]
    ! kill -0 "$pid" 2>/dev/null

    mydock run --name rs2 "$BB" true
    run mydock restart rs2
    assert_success
    run mydock wait rs2
    [[ $output == 0 ]]
    run -1 mydock restart nosuch
    assert_output_contains "No such container: nosuch"
}

@test "--restart on-failure:2 runs a failing command 3 times, then it stays exited with RestartCount 2" {
    run mydock run -d --name flaky --restart on-failure:2 "$BB" sh -c 'echo try; exit 3'
    assert_success
    wait_field flaky State.Status 100 exited
    sleep 0.5
    [[ $(field flaky State.Status) == exited ]]
    [[ $(field flaky RestartCount) == 2 ]]
    [[ $(field flaky State.ExitCode) == 3 ]]
    [[ $(field flaky HostConfig.RestartPolicy.Name) == on-failure ]]
    [[ $(field flaky HostConfig.RestartPolicy.MaximumRetryCount) == 2 ]]
    run mydock logs flaky
    [[ $output == $'try\ntry\ntry' ]]
    # A success is not restarted.
    mydock run -d --name fine --restart on-failure "$BB" true
    wait_field fine State.Status 50 exited
    sleep 0.3
    [[ $(field fine RestartCount) == 0 ]]
}

restart_until_stopped() {
    local policy=$1
    run mydock run -d --name loop --restart "$policy" "$BB" sh -c 'echo up; sleep 0.2; exit 1'
    assert_success
    local i
    for i in $(seq 100); do (( $(field loop RestartCount) >= 3 )) && break; sleep 0.1; done
    (( $(field loop RestartCount) >= 3 ))
    run mydock ps
    assert_output_contains loop
    [[ $output == *"Up "* || $output == *"Restarting (1)"* ]]
    run mydock stop -t 1 loop
    assert_success
    [[ $output == loop ]]
    [[ $(field loop State.Status) == exited ]]
    local n
    n=$(field loop RestartCount)
    sleep 1.5
    [[ $(field loop State.Status) == exited ]]
    [[ $(field loop RestartCount) == "$n" ]]
    run mydock ps -q
    [[ -z $output ]]
    # start clears the user's stop: the policy applies again.
    run mydock start loop
    assert_success
    for i in $(seq 100); do (( $(field loop RestartCount) >= 1 )) && break; sleep 0.1; done
    (( $(field loop RestartCount) >= 1 ))
    # kill works on a running container (between runs it is "restarting": retried).
    for i in $(seq 50); do mydock kill loop 2>/dev/null && break; sleep 0.1; done
    wait_field loop State.Status 50 exited
    sleep 1
    [[ $(field loop State.Status) == exited ]]
}

@test "--restart always keeps a crashing container restarting until stop; stop is final" {
    restart_until_stopped always
}

@test "--restart unless-stopped: the same" {
    restart_until_stopped unless-stopped
}

@test "a restarting container: rm refuses, rm -f ends the loop" {
    mydock run -d --name rl --restart always "$BB" sh -c 'exit 2'
    local i
    for i in $(seq 100); do (( $(field rl RestartCount) >= 2 )) && break; sleep 0.1; done
    run -1 mydock rm rl
    [[ $output == *"container is restarting"* || $output == *"container is running"* ]]
    run mydock rm -f rl
    assert_success
    run -1 mydock inspect rl
}

@test "--rm with --restart, -a with -d and bad policies are refused before anything is made" {
    run -125 mydock run --rm --restart always "$BB" true
    assert_output_contains "Conflicting options: --restart and --rm"
    run -125 mydock run -d -a stdout "$BB" true
    assert_output_contains "Conflicting options: -a and -d"
    run -125 mydock run --restart sometimes "$BB" true
    assert_output_contains "invalid restart policy"
    run -125 mydock run --restart always:3 "$BB" true
    assert_output_contains "maximum retry count can only be used with 'on-failure'"
    run -125 mydock run -a stdlog "$BB" true
    assert_output_contains "valid streams are STDIN, STDOUT and STDERR"
    run mydock ps -aq
    [[ -z $output ]]
}

@test "run -a stdout shows stdout only (both go to the log); -a stderr the reverse" {
    run --separate-stderr mydock run --name ao -a stdout "$BB" sh -c 'echo out; echo err >&2'
    assert_success
    [[ $output == out ]]
    [[ -z $stderr ]]
    run --separate-stderr mydock logs ao
    [[ $output == out ]]
    [[ $stderr == err ]]
    run --separate-stderr mydock run --name ae -a STDERR "$BB" sh -c 'echo out; echo err >&2; exit 4'
    [[ $status == 4 ]]
    [[ -z $output ]]
    [[ $stderr == err ]]
    [[ $(field ae Config.AttachStdout) == false ]]
    run mydock run --rm -a stdin -a stdout "$BB" cat <<<"piped"
    [[ $output == piped ]]
}

@test "run --restart in the foreground: this mydock applies the policy" {
    run -3 mydock run --name fgr --restart on-failure:1 "$BB" sh -c 'echo again; exit 3'
    [[ $output == $'again\nagain' ]]
    [[ $(field fgr RestartCount) == 1 ]]
}
