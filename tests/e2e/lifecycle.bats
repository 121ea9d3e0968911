#!/usr/bin/env bats
# Detached containers (issue 5, lifecycle): run -d under a monitor, ps, logs, stop, kill,
# wait, rm -f, inspect, and that nothing leaks. Needs root.
load ../lib/e2e
load ../lib/containers   # ct_setup_file, ct_setup, ct_teardown, ct_pty
bats_require_minimum_version 1.5.0

# setup, teardown (every container removed; no mount, process or cgroup left): containers.bash
setup_file() { ct_setup_file library/busybox; }

@test "run -d prints the id at once; the container keeps running; ps shows it Up" {
    local t0=$SECONDS
    run mydock run -d --name sleeper "$BB" sleep 30
    assert_success
    [[ $output =~ ^[0-9a-f]{64}$ ]]
    (( SECONDS - t0 < 2 ))
    local id=$output
    sleep 1
    run mydock ps
    assert_output_contains "${id:0:12}"
    assert_output_contains "Up "
    assert_output_contains sleeper
    run mydock ps -q -f status=running
    [[ $output == "${id:0:12}" ]]
    run mydock ps -q -f status=exited
    [[ -z $output ]]
    run mydock inspect sleeper
    assert_success
    [[ $(jq -r '.[0].State.Status' <<<"$output") == running ]]
    [[ $(jq -r '.[0].State.Running' <<<"$output") == true ]]
    [[ $(jq -r '.[0].Id' <<<"$output") == "$id" ]]
    [[ $(jq -r '.[0].Name' <<<"$output") == /sleeper ]]
    [[ $(jq -r '.[0].Config.Cmd[0]' <<<"$output") == sleep ]]
    (( $(jq -r '.[0].State.Pid' <<<"$output") > 0 ))
}

@test "the log is docker's json-file; logs, --tail, -t; wait prints the exit code" {
    run mydock run -d --name talker "$BB" sh -c 'echo one; echo two >&2; sleep 0.3; echo three; exit 3'
    assert_success
    local id=$output
    run mydock wait talker
    [[ $output == 3 ]]
    local log=$CT_ROOT/containers/$id/$id-json.log
    [[ $(jq -r 'select(.stream=="stderr") | .log' "$log") == two ]]
    [[ $(head -1 "$log" | jq -r .log) == $'one\n' ]] || [[ $(head -1 "$log" | jq -r .log) == $'one' ]]
    head -1 "$log" | jq -e '.time | test("^[0-9-]+T[0-9:.]+Z$")'
    run --separate-stderr mydock logs talker
    [[ $output == $'one\nthree' ]]
    [[ $stderr == two ]]
    run mydock logs --tail 1 talker
    [[ $output == three ]]
    run mydock logs -t --tail 1 talker
    [[ $output =~ ^20[0-9-]+T[0-9:.]+Z\ three$ ]]
    run mydock ps -a -f status=exited
    assert_output_contains "Exited (3)"
}

@test "logs -f follows a counter until the container stops" {
    mydock run -d --name counter "$BB" sh -c 'i=0; while true; do echo $i; i=$((i+1)); sleep 0.2; done'
    local out=$BATS_TEST_TMPDIR/follow
    mydock logs -f counter >"$out" &
    local lp=$!
    sleep 2
    local n1
    n1=$(wc -l <"$out")
    (( n1 >= 5 ))
    sleep 1
    (( $(wc -l <"$out") > n1 ))
    mydock kill counter
    # logs -f ends by itself once the container is gone.
    local i
    for i in $(seq 50); do kill -0 $lp 2>/dev/null || break; sleep 0.1; done
    ! kill -0 $lp 2>/dev/null
    wait $lp
    [[ $(head -3 "$out" | tr '\n' ' ') == "0 1 2 " ]]
}

@test "stop: SIGTERM to a trapping shell, SIGKILL after -t to one that ignores it" {
    mydock run -d --name trapper -v "$BATS_TEST_TMPDIR:/out" "$BB" \
        sh -c 'trap "echo got-term > /out/marker; exit 42" TERM; while true; do sleep 0.1; done'
    sleep 0.5
    run mydock stop trapper
    assert_success
    [[ $output == trapper ]]
    [[ $(cat "$BATS_TEST_TMPDIR/marker") == got-term ]]
    run mydock inspect trapper
    [[ $(jq -r '.[0].State.ExitCode' <<<"$output") == 42 ]]
    [[ $(jq -r '.[0].State.Status' <<<"$output") == exited ]]

    mydock run -d --name sleeper "$BB" sleep 60
    local t0=$(date +%s%N)
    run mydock stop -t 1 sleeper
    assert_success
    local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    (( ms >= 900 && ms < 5000 ))
    run mydock wait sleeper
    [[ $output == 137 ]]
    run mydock ps -a
    assert_output_contains "Exited (137)"
}

@test "kill -s, rm -f of a running container, errors for stopped ones" {
    mydock run -d --name k1 "$BB" sh -c 'trap "exit 7" USR1; while true; do sleep 0.1; done'
    sleep 0.5
    run mydock kill -s USR1 k1
    assert_success
    run mydock wait k1
    [[ $output == 7 ]]
    run -1 mydock kill k1
    assert_output_contains "is not running"
    mydock run -d --name r1 "$BB" sleep 60
    run -1 mydock rm r1
    assert_output_contains "container is running"
    run mydock rm -f r1
    assert_success
    run mydock ps -a
    ! grep -q r1 <<<"$output"
    run -1 mydock logs nosuch
    assert_output_contains "No such container: nosuch"
}

@test "a killed monitor: the container dies with it and ps says Exited" {
    run mydock run -d --name orphan "$BB" sleep 60
    local id=$output
    local pid
    pid=$(jq -r .State.Pid "$CT_ROOT/containers/$id/config.json")
    local mon
    mon=$(ps -o ppid= -p "$pid" | tr -d ' ')
    [[ -n $mon && $mon != 1 ]]
    kill -9 "$mon"
    local i
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    ! kill -0 "$pid" 2>/dev/null
    run mydock ps -q
    [[ -z $output ]]
    run mydock ps -a
    assert_output_contains "Exited (137)"
}

@test "run -d --rm removes itself; -d -t logs the pty's output; start errors are reported" {
    run mydock run -d --rm --name gone "$BB" true
    assert_success
    local i
    for i in $(seq 50); do [[ -d $CT_ROOT/containers/$output ]] || break; sleep 0.1; done
    [[ ! -d $CT_ROOT/containers/$output ]]

    run mydock run -d -t --name tty "$BB" sh -c 'tty; echo done'
    assert_success
    mydock wait tty
    run mydock logs tty
    assert_output_contains /dev/pts/0
    assert_output_contains done

    run -127 mydock run -d --name bad "$BB" /no/such/cmd
    assert_output_contains "failed to start container"
}
