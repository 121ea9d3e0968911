#!/usr/bin/env bats
# `ps` as docker's: --format (table, json, Go templates, table TEMPLATE), --filter, -n/-l, -s;
# and `system df` (-v, --format). Needs root.
load ../lib/e2e
load ../lib/containers   # ct_setup_file, ct_setup, ct_teardown
bats_require_minimum_version 1.5.0

# setup, teardown (every container removed; no mount, process or cgroup left): containers.bash
setup_file() { ct_setup_file library/busybox test/app; }

# Three containers, oldest first: "done" exited 3 after writing 6 bytes, "fresh" created by
# `run` of a missing command (never started), "up" running (test/app, label org.mydock.test=app).
three() {
    mydock run --name done --network none "$BB" sh -c 'echo hello > /x; exit 3' || true
    mydock run --name fresh --network none "$BB" /nonexistent >/dev/null 2>&1 || true
    mydock run -d --name up --network none "$REG_HOST/test/app" sleep 60 >/dev/null
}

# Go's %.<p>g + docker's units, for expected sizes.
human() { python3 -c 'import sys
b=float(sys.argv[1]); p=int(sys.argv[2]); u=["B","kB","MB","GB","TB"]; i=0
while b>=1000 and i<4: b/=1000; i+=1
print(("%.*g" % (p, b)) + u[i])' "$1" "$2"; }

@test "ps with no containers prints docker's header; table is the default format" {
    run mydock ps
    assert_success
    [[ $output == "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES" ]]
    run mydock ps -a --format table
    [[ $output == "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES" ]]
    run mydock ps -s
    [[ $output == "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES     SIZE" ]]
    run mydock ps --format 'table {{.ID}}\t{{.Names}}\t{{.Labels}}\t{{.RunningFor}}\t{{.CreatedAt}}\t{{.State}}\t{{.Mounts}}\t{{.Networks}}\t{{.LocalVolumes}}'
    [[ $output == "CONTAINER ID   NAMES     LABELS    CREATED   CREATED AT   STATE     MOUNTS    NETWORKS   LOCAL VOLUMES" ]]
    run mydock ps --format '{{.Nope}}'   # checked before listing, as docker does
    assert_status 125
    assert_output_contains "can't evaluate field"
}

@test "ps table: docker's columns, running only by default, all with -a, newest first" {
    three
    run mydock ps
    assert_success
    [[ ${#lines[@]} == 2 ]]
    [[ ${lines[1]} =~ ^[0-9a-f]{12}\ \ \ $REG_HOST/test/app\ \ \ \"sleep\ 60\"\ +(Less\ than\ a\ second|[0-9]+\ seconds)\ ago\ +Up\ .*\ up$ ]]
    run mydock ps -a --format '{{.Names}}'
    [[ $output == $'up\nfresh\ndone' ]]
    run mydock ps -a
    [[ ${lines[3]} =~ \"sh\ -c\ \'echo\ hello\ \>…\"\ +.*\ Exited\ \(3\)\ .*\ done$ ]]
    [[ ${lines[2]} =~ \ Created\ +fresh$ ]]
}

@test "ps --format: Go templates with \\t, table TEMPLATE, --no-trunc" {
    three
    local id
    id=$(mydock ps -q --no-trunc -f name=^up$)
    run mydock ps --format '{{.ID}}\t{{.Names}}\t{{.State}}\t{{.Image}}'
    assert_success
    [[ $output == "${id:0:12}"$'\tup\trunning\t'"$REG_HOST/test/app" ]]
    run mydock ps --no-trunc --format '{{.ID}} {{.Command}}'
    [[ $output == "$id \"sleep 60\"" ]]
    run mydock ps -a --format 'table {{.Names}}\t{{.Status}}\t{{.Labels}}'
    [[ ${lines[0]} =~ ^NAMES\ {5}STATUS\ +LABELS$ ]]
    [[ ${lines[1]} =~ ^up\ {8}Up\ .*\ +org.mydock.test=app$ ]]
    [[ ${lines[2]} =~ ^fresh\ {5}Created\ +$ ]]
    [[ ${lines[3]} =~ ^done\ {6}Exited\ \(3\)\ .*ago\ +$ ]]
    run mydock ps -a --format '{{.Names}}={{.Labels}}' -f name=up
    [[ $output == "up=org.mydock.test=app" ]]
    run mydock ps -a --format '{{.Names}}:{{.Label "org.mydock.test"}}'
    [[ $output == $'up:app\nfresh:\ndone:' ]]
    run mydock ps --format '{{.Nope}}'
    assert_status 125
    assert_output_contains "can't evaluate field"
}

@test "ps --format json and {{json .}}: one object per line with docker's keys" {
    three
    run mydock ps -a --format json
    assert_success
    [[ ${#lines[@]} == 3 ]]
    [[ $(jq -c keys <<<"${lines[0]}") == '["Command","CreatedAt","ID","Image","Labels","LocalVolumes","Mounts","Names","Networks","Ports","RunningFor","Size","State","Status"]' ]]
    [[ $(jq -r '.Names + " " + .State + " " + .Labels + " " + .Networks + " " + .LocalVolumes' <<<"${lines[0]}") == "up running org.mydock.test=app none 0" ]]
    [[ $(jq -r .ID <<<"${lines[0]}") =~ ^[0-9a-f]{12}$ ]]
    [[ $(jq -r .Command <<<"${lines[2]}") == "\"sh -c 'echo hello >…\"" ]]
    [[ ${lines[2]} == *'\u003e'* ]]   # Go's json escapes '>'
    [[ $(jq -r .Size <<<"${lines[2]}") == 6B\ \(virtual\ * ]]   # json asks for sizes, as docker's does
    [[ $(jq -r .CreatedAt <<<"${lines[2]}") =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9:]{8}\ [+-][0-9]{4}\ [A-Z]+$ ]]
    run mydock ps -a --format '{{json .}}'
    [[ $(jq -r .Names <<<"${lines[1]}") == fresh ]]
    run mydock ps -a --format '{{json .Names}}'
    [[ $output == $'"up"\n"fresh"\n"done"' ]]
}

@test "ps -q ignores --format with docker's warning" {
    three
    run --separate-stderr mydock ps -aq --format '{{.Names}}'
    assert_success
    [[ ${#lines[@]} == 3 && ${lines[0]} =~ ^[0-9a-f]{12}$ ]]
    [[ $stderr == "WARNING: Ignoring custom format, because both --format and --quiet are set." ]]
}

@test "ps --filter: status, exited, name, id, label, ancestor; values OR, keys AND" {
    three
    local up bbid
    up=$(mydock ps -q --no-trunc -f name=^up$)
    bbid=$(mydock inspect "$BB" | jq -r '.[0].Id')
    f() { mydock ps --format '{{.Names}}' "$@" | paste -sd, -; }
    [[ $(f -f status=exited) == done ]]
    [[ $(f -f status=created) == fresh ]]
    [[ $(f -f status=exited -f status=created) == fresh,done ]]
    [[ $(f -f status=running) == up ]]
    [[ $(f -f status=paused) == "" ]]
    [[ $(f -a -f exited=3) == done ]]
    [[ $(f -a -f exited=0) == "" ]]                 # never-started containers have no exit code
    [[ $(f -a -f name=o) == done ]]
    [[ $(f -a -f name=^/f -f name=^u) == up,fresh ]]  # a regexp, with or without docker's '/'
    [[ $(f -a -f name=e -f status=exited) == done ]]
    [[ $(f -a -f "id=${up:0:5}") == up ]]
    [[ $(f -a -f label=org.mydock.test) == up ]]
    [[ $(f -a -f label=org.mydock.test=app) == up ]]
    [[ $(f -a -f label=org.mydock.test=other) == "" ]]
    [[ $(f -a -f "ancestor=$BB") == fresh,done ]]
    [[ $(f -a -f "ancestor=$BB:latest") == fresh,done ]]
    [[ $(f -a -f "ancestor=${bbid:7:10}") == fresh,done ]]
    [[ $(f -a -f "ancestor=$REG_HOST/test/app" -f "ancestor=$BB") == up,fresh,done ]]
    [[ $(f -a -f ancestor=no-such-image) == "" ]]
    [[ $(f -a -f network=none) == up,fresh,done ]]
    [[ $(f -a -f health=none -f is-task=false -f isolation=default) == up,fresh,done ]]
}

@test "ps --filter before= and since=, -n N and -l (all states)" {
    three
    f() { mydock ps --format '{{.Names}}' "$@" | paste -sd, -; }
    [[ $(f -a -f before=up) == fresh,done ]]
    [[ $(f -a -f since=done) == up,fresh ]]
    [[ $(f -a -f since=done -f before=up) == fresh ]]
    [[ $(f -f before=fresh) == "" ]]   # without -a, only running ones
    [[ $(f -n 2) == up,fresh ]]
    [[ $(f -n 1 -f status=exited) == done ]]
    [[ $(f -l) == up ]]
    [[ $(f --last 5) == up,fresh,done ]]
    [[ $(f --latest -f name=o) == done ]]
    run mydock ps -aq -n 1
    [[ $output =~ ^[0-9a-f]{12}$ ]]
}

@test "ps bad filters: docker's messages, exit 125" {
    run mydock ps -f bogus=1
    assert_status 125
    [[ $output == "Error: invalid filter 'bogus'" ]]
    run mydock ps -f status=sleeping
    assert_status 125
    [[ $output == "Error: invalid filter 'status=sleeping'" ]]
    run mydock ps -f exited=x
    assert_status 125
    [[ $output == 'Error: strconv.Atoi: parsing "x": invalid syntax' ]]
    run mydock ps -f novalue
    assert_status 125
    assert_output_contains "bad format of filter (expected name=value)"
    run mydock ps -f before=nosuch
    assert_status 125
    [[ $output == "Error: No such container: nosuch" ]]
}

@test "ps -s: the writable layer's size and the virtual size with the image" {
    three
    local img virt
    img=$(mydock inspect "$BB" | jq -r '.[0].Size')
    virt=$(human $((img + 6)) 3)
    run mydock ps -as --format '{{.Names}} {{.Size}}' -f name=done
    assert_success
    [[ $output == "done 6B (virtual $virt)" ]]
    run mydock ps --format '{{.Size}}' -f name=done -a   # .Size in a template asks for sizes
    [[ $output == "6B (virtual $virt)" ]]
    run mydock ps -as
    [[ ${lines[0]} == *"   NAMES     SIZE" ]]
    [[ ${lines[3]} == *"   done      6B (virtual $virt)" ]]
}

@test "system df: images, containers, volumes, build cache as docker's" {
    three
    local bb app
    bb=$(mydock inspect "$BB" | jq -r '.[0].Size')
    app=$(mydock inspect "$REG_HOST/test/app" | jq -r '.[0].Size')
    # test/app is the busybox layer plus its own: every image is used by a container.
    run mydock system df
    assert_success
    [[ ${lines[0]} == "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE" ]]
    [[ ${lines[1]} =~ ^Images\ +2\ +2\ +$(human "$app" 4)\ +0B\ \(0%\)$ ]]
    [[ ${lines[2]} =~ ^Containers\ +3\ +1\ +6B\ +6B\ \(100%\)$ ]]
    [[ ${lines[3]} =~ ^Local\ Volumes\ +0\ +0\ +0B\ +0B$ ]]
    [[ ${lines[4]} =~ ^Build\ Cache\ +0\ +0\ +0B\ +0B$ ]]
    # Without the busybox containers, only test/app's own layer is in use.
    mydock rm done fresh >/dev/null
    run mydock system df --format '{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}'
    [[ ${lines[0]} == "Images|2|1|$(human "$app" 4)|0B (0%)" ]]
    [[ ${lines[1]} == "Containers|1|1|0B|0B" ]]
    run mydock system df --format json
    [[ $(jq -c keys <<<"${lines[0]}") == '["Active","Reclaimable","Size","TotalCount","Type"]' ]]
    mydock rm -f up >/dev/null
    run mydock system df --format '{{.Active}} {{.Reclaimable}}'
    [[ ${lines[0]} == "0 $(human "$app" 4) (100%)" ]]
    [[ ${lines[1]} == "0 0B" ]]
    (( bb < app ))
}

@test "system df -v: docker's sections and columns" {
    three
    run mydock system df -v
    assert_success
    [[ ${lines[0]} == "Images space usage:" ]]
    [[ ${lines[1]} =~ ^REPOSITORY\ +TAG\ +IMAGE\ ID\ +CREATED\ +SIZE\ +SHARED\ SIZE\ +UNIQUE\ SIZE\ +CONTAINERS$ ]]
    [[ $output =~ $REG_HOST/test/app\ +latest\ +[0-9a-f]{12}\ +.*\ ago\ +[0-9.]+MB\ +[0-9.]+MB\ +20B\ +1 ]]
    assert_output_contains "Containers space usage:"
    [[ $output =~ CONTAINER\ ID\ +IMAGE\ +COMMAND\ +LOCAL\ VOLUMES\ +SIZE\ +CREATED\ +STATUS\ +NAMES ]]
    [[ $output =~ \ 0\ +6B\ +.*\ ago\ +Exited\ \(3\)\ .*\ done ]]
    assert_output_contains "Local Volumes space usage:"
    assert_output_contains "VOLUME NAME   LINKS     SIZE"
    assert_output_contains "Build cache usage: 0B"
    assert_output_contains "CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED"
}
