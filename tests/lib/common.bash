# Shared helpers of the end-to-end tests: paths, free ports, background processes, the
# per-test state root and leak checks. Sourced by tests/lib/e2e.bash; see tests/lib/README.md.

MYDOCK_SRC=${MYDOCK_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MD_LIB=$MYDOCK_SRC/tests/lib
MD_WORK=${MD_WORK:-$MYDOCK_SRC/tests/e2e/.work}
if [[ -z ${MYDOCK_BIN:-} ]]; then
    for c in "$MYDOCK_SRC"/build*/src/cli/mydock; do [[ -x $c ]] && MYDOCK_BIN=$c && break; done
fi
export MYDOCK_SRC MYDOCK_BIN MD_LIB MD_WORK

# The scratch directory of the current scope: the test's, else the file's (setup_file).
md_tmp() { echo "${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}}"; }

md_require_root() { [[ $(id -u) == 0 ]] || skip "needs root"; }

# A free TCP port on 127.0.0.1 (the kernel picks it; tests never use fixed ports).
md_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# md_bg PIDFILE LOGFILE CMD...: starts CMD in the background. fd 3 is closed so that bats
# does not wait for it; the pid goes into PIDFILE, which md_cleanup finds and kills.
md_bg() {
    local pidfile=$1 logfile=$2
    shift 2
    "$@" >"$logfile" 2>&1 3>&- &
    echo $! >"$pidfile"
}

# md_wait_http URL [SECONDS]: waits until URL answers at all (any HTTP status).
md_wait_http() {
    local url=$1 secs=${2:-15} i
    for ((i = 0; i < secs * 10; i++)); do
        if curl -sk -o /dev/null --max-time 2 "$url" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing answers at $url after ${secs}s" >&2
    return 1
}

md_kill_pidfile() {
    local pid i
    pid=$(cat "$1" 2>/dev/null) || return 0
    rm -f "$1"
    kill "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
}

# md_cleanup [DIR]: stops every process started under DIR (default: this scope's tmp dir) and
# removes the CA files registry_start installed under /etc/mydock/certs.d.
md_cleanup() {
    local dir=${1:-$(md_tmp)} f line
    [[ -d $dir ]] || return 0
    while IFS= read -r f; do md_kill_pidfile "$f"; done < <(find "$dir" -maxdepth 3 -name '*.pid' 2>/dev/null)
    while IFS= read -r f; do
        while IFS= read -r line; do [[ -n $line ]] && rm -rf -- "$line"; done <"$f"
        rm -f "$f"
    done < <(find "$dir" -maxdepth 3 -name 'installed-files' 2>/dev/null)
    return 0
}

# Per test: a state root and a HOME of its own (so ~/.docker/config.json is the test's).
md_setup_root() {
    export MD_ROOT=$BATS_TEST_TMPDIR/root
    export HOME=$BATS_TEST_TMPDIR/home
    unset DOCKER_CONFIG
    export MYDOCK_ROOT=$MD_ROOT
    mkdir -p "$MD_ROOT" "$HOME"
    [[ -x ${MYDOCK_BIN:-} ]] || skip "MYDOCK_BIN is not set to a built mydock"
}

# The binary under test, always against the test's root.
mydock() { "$MYDOCK_BIN" --root "$MD_ROOT" "$@"; }

# Fails (with the lines) if a mount under DIR (default: this scope's tmp dir) is left over.
md_assert_no_mounts() {
    local dir=${1:-$(md_tmp)} left
    left=$(awk -v d="$dir" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo)
    if [[ -n $left ]]; then
        echo "mounts left behind: $left" >&2
        return 1
    fi
}

# Unmounts (lazily) whatever a failed test left under DIR, deepest first.
md_umount_all() {
    local dir=${1:-$(md_tmp)} m
    for m in $(awk -v d="$dir" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
}

# Fails unless mydock processes started with this test's root are gone (and kills them).
md_assert_no_procs() {
    [[ -n ${MD_ROOT:-} ]] || return 0
    local left
    left=$(pgrep -f -- "--root $MD_ROOT( |\$)" || true)
    if [[ -n $left ]]; then
        echo "processes left behind: $(ps -o pid=,args= -p "${left//$'\n'/,}")" >&2
        kill -9 $left 2>/dev/null || true
        return 1
    fi
}

# Standard per-test teardown: stop servers, unmount leftovers, check nothing leaked.
md_teardown() {
    local rc=0
    md_assert_no_procs || rc=1
    md_cleanup "$BATS_TEST_TMPDIR"
    md_assert_no_mounts "$BATS_TEST_TMPDIR" || rc=1
    md_umount_all "$BATS_TEST_TMPDIR"
    return $rc
}

# Assertions with useful failure text (bats-assert is not in Debian 12).
assert_success() {
    if [[ $status -ne 0 ]]; then
        printf 'expected success, got status %s; output:\n%s\n' "$status" "$output" >&2
        return 1
    fi
}
assert_status() {
    if [[ $status -ne $1 ]]; then
        printf 'expected status %s, got %s; output:\n%s\n' "$1" "$status" "$output" >&2
        return 1
    fi
}
assert_output_contains() {
    if [[ $output != *"$1"* ]]; then
        printf 'output lacks "%s"; status %s; output:\n%s\n' "$1" "$status" "$output" >&2
        return 1
    fi
}
assert_output_not_contains() {
    if [[ $output == *"$1"* ]]; then
        printf 'output has "%s"; output:\n%s\n' "$1" "$output" >&2
        return 1
    fi
}
assert_output_matches() {
    if ! [[ $output =~ $1 ]]; then
        printf 'output does not match /%s/; status %s; output:\n%s\n' "$1" "$status" "$output" >&2
        return 1
    fi
}
