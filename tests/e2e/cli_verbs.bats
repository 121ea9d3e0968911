#!/usr/bin/env bats
# mydock defines only the CLI11 subcommand that argv names (src/cli/main.cpp: building every
# verb's options costs every start ~0.35 ms). Help, usage errors, unknown verbs and global
# options before the verb must read exactly as with every verb defined
# (MYDOCK_CLI_ALL_VERBS=1 turns the shortcut off).

load ../lib/e2e

setup_file() { registry_start; }
teardown_file() { md_cleanup "$BATS_FILE_TMPDIR"; }
setup() { md_setup_root; }
teardown() { md_teardown; }

# same ARGS...: mydock ARGS (no --root added) prints the same stdout and stderr and exits with
# the same status with and without the shortcut.
same() {
    local d=$BATS_TEST_TMPDIR rs rf
    "$MYDOCK_BIN" "$@" >"$d/s.out" 2>"$d/s.err" </dev/null && rs=0 || rs=$?
    MYDOCK_CLI_ALL_VERBS=1 "$MYDOCK_BIN" "$@" >"$d/f.out" 2>"$d/f.err" </dev/null && rf=0 || rf=$?
    if [[ $rs != "$rf" ]] || ! cmp -s "$d/s.out" "$d/f.out" || ! cmp -s "$d/s.err" "$d/f.err"; then
        echo "mydock $* differs (status $rs, with every verb $rf):" >&2
        diff "$d/f.out" "$d/s.out" >&2
        diff "$d/f.err" "$d/s.err" >&2
        return 1
    fi
}

# The verbs `mydock --help` lists.
verbs() { "$MYDOCK_BIN" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && NF { print $1 }'; }

@test "cli verbs: every verb's help and usage errors read as with every verb defined" {
    local v n=0
    for v in $(verbs); do
        n=$((n + 1))
        same "$v" --help
        same "$v" --no-such-flag
        same --root "$MD_ROOT" "$v" --help
        same --root="$MD_ROOT" -l debug "$v" --no-such-flag
        same -lerror --log-level=warn "$v" --help
    done
    ((n >= 20)) || { echo "only $n verbs in mydock --help" >&2; false; }
    same image ls --help
    same image list --help
    same image rm --help
    same system --help
    same system df --help
    same run --help
    same run -h host --help
}

@test "cli verbs: no verb, help, unknown verbs and odd global options read as before" {
    local a
    same
    same --help
    same -h
    same bogus
    same Run
    same --root "$MD_ROOT" bogus --help
    same --root
    same --root "$MD_ROOT"
    same -l
    same --bogus run
    same -- run
    same --root "$MD_ROOT" --root "$MD_ROOT" version
    same --root "$MD_ROOT" run
    same --root "$MD_ROOT" rm
    same --root "$MD_ROOT" version
    same --root "$MD_ROOT" images -q
}

@test "cli verbs: verbs that read what other verbs' files define (inspect's kinds) answer as before" {
    md_require_root
    run mydock run --name cv1 --network none "$REG_HOST/library/busybox" true
    assert_success
    local a
    for a in "inspect cv1" "inspect --type container cv1" "inspect --type image cv1" "inspect $REG_HOST/library/busybox" \
        "inspect -f {{.State.Status}} cv1" "image inspect cv1" "ps -a --format {{.Names}}" "wait cv1" "logs cv1"; do
        # shellcheck disable=SC2086
        same --root "$MD_ROOT" $a
    done
    run mydock inspect -f '{{.State.Status}}' cv1
    assert_success
    [[ $output == exited ]]
    run mydock rm cv1
    assert_success
}
