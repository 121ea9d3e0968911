#!/usr/bin/env bats
# Isolation defaults seen from inside a container (runtime.md "Privileges", issue 4):
# capabilities, seccomp, no_new_privs, masked and read-only paths, device nodes, chroot
# escape, and the --cap-add/--cap-drop/--privileged/--security-opt flags.
load ../lib/e2e

IMG=

# A static probe bound into the containers: one syscall per argument, printed as
# NAME=ok or NAME=<errno name>, so the tests see exactly what the kernel answered.
_write_probe() {
    cat >"$1" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *en(long rc) {
    static char buf[32];
    if (rc >= 0) return "ok";
    switch (errno) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    case EROFS: return "EROFS";
    case ENOENT: return "ENOENT";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ENXIO: return "ENXIO";
    case ENODEV: return "ENODEV";
    }
    snprintf(buf, sizeof buf, "E%d", errno);
    return buf;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *p = argv[i];
        long rc = 0;
        if (!strcmp(p, "unshare")) rc = syscall(SYS_unshare, CLONE_NEWNS);
        else if (!strcmp(p, "unshare-user")) rc = syscall(SYS_unshare, CLONE_NEWUSER);
        else if (!strcmp(p, "mount")) rc = syscall(SYS_mount, "none", "/tmp", "tmpfs", 0L, NULL);
        else if (!strcmp(p, "keyctl")) rc = syscall(SYS_keyctl, 0 /*GET_KEYRING_ID*/, -3 /*session*/, 0);
        else if (!strcmp(p, "acct")) rc = syscall(SYS_acct, "/nonexistent/acct");
        else if (!strcmp(p, "setns")) rc = syscall(SYS_setns, -1, 0);
        else if (!strcmp(p, "clone3")) rc = syscall(435, NULL, 0);
        else if (!strcmp(p, "ptrace-attach")) rc = syscall(SYS_ptrace, 16 /*ATTACH*/, 1, 0, 0);
        else if (!strcmp(p, "reboot")) rc = syscall(SYS_reboot, 0, 0, 0, NULL);  /* bad magic */
        else if (!strcmp(p, "init_module")) rc = syscall(SYS_init_module, NULL, 0, "");
        else if (!strcmp(p, "euid")) { printf("euid=%d\n", (int)geteuid()); continue; }
        else if (!strcmp(p, "clone-ns")) {
            rc = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
            if (rc == 0) _exit(0);
            if (rc > 0) waitpid((pid_t)rc, NULL, 0);
        } else if (!strcmp(p, "fork")) {
            rc = fork();
            if (rc == 0) _exit(0);
            if (rc > 0) waitpid((pid_t)rc, NULL, 0);
        } else if (!strncmp(p, "open=", 5)) rc = open(p + 5, O_RDONLY | O_CLOEXEC);
        else if (!strncmp(p, "openw=", 6)) rc = open(p + 6, O_WRONLY | O_CLOEXEC);
        else if (!strncmp(p, "escape=", 7)) {
            /* The classic chroot escape: chroot into a subdir, walk up with "..", chroot
             * there. It works against a bare chroot(); after pivot_root it stays inside.
             * Prints escape=escaped when the host-only path given after '=' is visible. */
            mkdir("/tmp/.escape", 0700);
            if (chroot("/tmp/.escape") != 0) { printf("escape=%s\n", en(-1)); continue; }
            for (int k = 0; k < 64; k++) chdir("..");
            chroot(".");
            struct stat st;
            printf("escape=%s\n", stat(p + 7, &st) == 0 ? "escaped" : "contained");
            continue;
        } else { printf("%s=unknown-probe\n", p); continue; }
        printf("%s=%s\n", p, en(rc));
    }
    return 0;
}
EOF
}

setup_file() {
    registry_start
    export PROBE=
    if command -v cc >/dev/null; then
        _write_probe "$BATS_FILE_TMPDIR/probe.c"
        if cc -static -O2 -o "$BATS_FILE_TMPDIR/probe" "$BATS_FILE_TMPDIR/probe.c" 2>"$BATS_FILE_TMPDIR/cc.log"; then
            PROBE=$BATS_FILE_TMPDIR/probe
        fi
    fi
    # A path only the host has: visible from a container means an escape.
    export HOST_MARKER=$BATS_FILE_TMPDIR/host-only-marker-$$
    touch "$HOST_MARKER"
}
teardown_file() { md_cleanup "$BATS_FILE_TMPDIR"; }
setup() {
    md_setup_root
    md_require_root
    IMG=$REG_HOST/library/busybox
    mydock pull -q "$IMG" >/dev/null
}
teardown() { md_teardown; }

need_probe() { [[ -n $PROBE ]] || skip "no C compiler with static libc to build the probe"; }
# probe [RUN OPTIONS --] PROBES...: runs the probe in a container.
probe() {
    local opts=()
    if [[ " $* " == *" -- "* ]]; then
        while [[ $1 != -- ]]; do opts+=("$1"); shift; done
        shift
    fi
    mydock run --rm "${opts[@]}" -v "$PROBE:/probe:ro" "$IMG" /probe "$@"
}
status_of() { grep -E "^$1:" <<<"$output" | awk '{print $2}'; }
host_bounding() { awk '/^CapBnd:/ {print $2}' /proc/self/status; }

@test "default capabilities: docker's 14, inheritable and ambient empty" {
    run mydock run --rm "$IMG" grep -E '^Cap' /proc/self/status
    assert_success
    [[ $(status_of CapInh) == 0000000000000000 ]]
    [[ $(status_of CapPrm) == 00000000a80425fb ]]
    [[ $(status_of CapEff) == 00000000a80425fb ]]
    [[ $(status_of CapBnd) == 00000000a80425fb ]]
    [[ $(status_of CapAmb) == 0000000000000000 ]]
}

@test "a non-root user has no effective capabilities, same bounding set" {
    run mydock run --rm -u app "$IMG" grep -E '^Cap' /proc/self/status
    assert_success
    [[ $(status_of CapEff) == 0000000000000000 ]]
    [[ $(status_of CapPrm) == 0000000000000000 ]]
    [[ $(status_of CapBnd) == 00000000a80425fb ]]
    # A setuid-root binary can't lift it past the bounding set either.
}

@test "seccomp is on (mode 2), no_new_privs off by default" {
    run mydock run --rm "$IMG" grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
    assert_success
    [[ $(status_of Seccomp) == 2 ]]
    [[ $(status_of NoNewPrivs) == 0 ]]
}

@test "unshare, mount, keyctl, acct, setns, namespace clone are refused; fork works" {
    need_probe
    run probe unshare unshare-user mount keyctl acct setns clone-ns clone3 reboot init_module fork
    assert_success
    assert_output_contains "unshare=EPERM"
    assert_output_contains "unshare-user=EPERM"
    assert_output_contains "mount=EPERM"
    assert_output_contains "keyctl=EPERM"
    assert_output_contains "acct=EPERM"
    assert_output_contains "setns=EPERM"
    assert_output_contains "clone-ns=EPERM"
    assert_output_contains "clone3=ENOSYS"     # so libc falls back to clone, which is checked
    assert_output_contains "reboot=EPERM"
    assert_output_contains "init_module=EPERM"
    assert_output_contains "fork=ok"
    # The busybox applets say the same.
    run mydock run --rm "$IMG" unshare -m true
    [[ $status -ne 0 ]]
    run mydock run --rm "$IMG" mount -t tmpfs none /tmp
    [[ $status -ne 0 ]]
}

@test "masked paths read empty; /proc/sys, /proc/sysrq-trigger and /sys are read-only" {
    run mydock run --rm "$IMG" sh -c '
        for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do
            [ -e $f ] || continue
            [ -c $f ] || echo "not masked: $f"
            n=$(head -c 100 $f | wc -c); [ "$n" = 0 ] || echo "readable: $f"
        done
        for d in /proc/acpi /proc/scsi /sys/firmware /sys/devices/virtual/powercap; do
            [ -d $d ] || continue
            [ -z "$(ls -A $d)" ] || echo "not empty: $d"
            touch $d/x 2>/dev/null && echo "writable: $d"
        done
        echo mydock-test > /proc/sys/kernel/domainname 2>/dev/null && echo "proc/sys writable"
        [ -e /proc/sysrq-trigger ] && { echo h > /proc/sysrq-trigger 2>/dev/null && echo "sysrq writable"; }
        touch /sys/kernel/x 2>/dev/null && echo "sys writable"
        cat /proc/sys/kernel/ostype
        echo done'
    assert_success
    assert_output_not_contains "not masked"
    assert_output_not_contains "readable:"
    assert_output_not_contains "not empty"
    assert_output_not_contains "writable"
    assert_output_contains Linux
    assert_output_contains done
}

@test "the chroot escape trick stays inside the container" {
    need_probe
    # The probe does escape against a bare chroot (so the check below means something)...
    mkdir -p "$BATS_TEST_TMPDIR/jail/tmp"
    cp "$PROBE" "$BATS_TEST_TMPDIR/jail/probe"
    run chroot "$BATS_TEST_TMPDIR/jail" /probe "escape=$HOST_MARKER"
    assert_output_contains "escape=escaped"
    # ...and not out of a container (pivot_root, old root detached).
    run probe "escape=$HOST_MARKER"
    assert_success
    assert_output_contains "escape=contained"
}

@test "device nodes: docker's set works" {
    run mydock run --rm "$IMG" sh -c 'head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null-ok; head -c 4 /dev/urandom | wc -c; echo x > /dev/full || echo full-ok'
    assert_success
    assert_output_contains null-ok
    assert_output_contains full-ok
    [[ $(grep -c '^4$' <<<"$output") == 2 ]]
}

@test "a device node on the image's file system can't be opened" {
    # As if shipped in a layer: the root file system is nodev, so mknod works, open doesn't.
    run mydock run --rm "$IMG" sh -c 'mknod /tmp/blk b 7 0 && head -c 1 /tmp/blk; echo rc=$?'
    assert_output_contains "rc=1"
    run mydock run --rm "$IMG" sh -c 'mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem; echo rc=$?'
    assert_output_contains "rc=1"
}

@test "a device node made in /dev can't be opened (docker: device cgroup)" {
    # docker allows mknod (CAP_MKNOD) but its device cgroup refuses opening anything outside
    # its list; mydock must not let the container reach a host block device this way.
    run mydock run --rm "$IMG" sh -c 'mknod /dev/blk b 7 0 && head -c 1 /dev/blk; echo rc=$?'
    assert_output_contains "rc=1"
}

@test "only fds 0, 1, 2 reach the container" {
    # PID 1 is the shell (a second command keeps busybox sh from exec'ing ls).
    run mydock run --rm "$IMG" sh -c 'ls /proc/1/fd; true'
    assert_success
    [[ $(echo $output) == "0 1 2" ]]
}

@test "--cap-drop and --cap-add" {
    run mydock run --rm --cap-drop ALL "$IMG" grep -E '^Cap(Eff|Bnd)' /proc/self/status
    assert_success
    [[ $(status_of CapEff) == 0000000000000000 ]]
    [[ $(status_of CapBnd) == 0000000000000000 ]]

    run mydock run --rm --cap-drop chown "$IMG" sh -c 'touch /tmp/f; chown 1000 /tmp/f'
    [[ $status -ne 0 ]]
    run mydock run --rm "$IMG" sh -c 'touch /tmp/f; chown 1000 /tmp/f'
    assert_success

    run mydock run --rm --cap-add net_admin --cap-add CAP_SYS_TIME "$IMG" grep -E '^CapEff' /proc/self/status
    assert_success
    [[ $(status_of CapEff) == 00000000aa0435fb ]]

    run mydock run --rm --cap-drop ALL --cap-add NET_RAW "$IMG" grep -E '^CapEff' /proc/self/status
    [[ $(status_of CapEff) == 0000000000002000 ]]

    run mydock run --rm --cap-add bogus "$IMG" true
    assert_status 125
    assert_output_contains 'unknown capability: "CAP_BOGUS"'
}

@test "--cap-add SYS_ADMIN unlocks mount and unshare in the seccomp profile" {
    run mydock run --rm --cap-add SYS_ADMIN "$IMG" sh -c 'mount -t tmpfs none /tmp && echo mounted; unshare -u true && echo unshared'
    assert_success
    assert_output_contains mounted
    assert_output_contains unshared
}

@test "--privileged: every capability mydock has, no seccomp, no masks" {
    local want
    want=$(host_bounding)
    run mydock run --rm --privileged "$IMG" sh -c 'grep -E "^(Cap|Seccomp:)" /proc/self/status; [ -c /proc/kcore ] && echo kcore-masked; echo done'
    assert_success
    [[ $(status_of CapEff) == "$want" ]]
    [[ $(status_of CapBnd) == "$want" ]]
    [[ $(status_of Seccomp) == 0 ]]
    assert_output_not_contains kcore-masked
    assert_output_contains done
}

@test "--security-opt seccomp=unconfined and no-new-privileges" {
    run mydock run --rm --security-opt seccomp=unconfined "$IMG" grep -E '^(Seccomp|CapEff|NoNewPrivs):' /proc/self/status
    assert_success
    [[ $(status_of Seccomp) == 0 ]]
    [[ $(status_of CapEff) == 00000000a80425fb ]]

    run mydock run --rm --security-opt no-new-privileges "$IMG" grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
    assert_success
    [[ $(status_of NoNewPrivs) == 1 ]]
    [[ $(status_of Seccomp) == 2 ]]

    run mydock run --rm --security-opt seccomp=unconfined --security-opt no-new-privileges=true "$IMG" grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
    [[ $(status_of NoNewPrivs) == 1 ]]
    [[ $(status_of Seccomp) == 0 ]]

    run mydock run --rm --security-opt bogus "$IMG" true
    assert_status 125
}

@test "unconfined seccomp lets keyctl through; capabilities still bound mount" {
    need_probe
    run probe --security-opt seccomp=unconfined -- keyctl mount unshare
    assert_success
    assert_output_contains "keyctl=ok"
    assert_output_contains "mount=EPERM"     # no CAP_SYS_ADMIN: the kernel says no
    assert_output_contains "unshare=EPERM"
}

@test "no-new-privileges: a setuid-root binary doesn't raise a user" {
    need_probe
    local script='cp /probe /tmp/p && chmod 4755 /tmp/p && su -s /bin/sh app -c "/tmp/p euid"'
    # Control: without no_new_privs the setuid bit works (as under docker).
    run mydock run --rm -v "$PROBE:/probe:ro" "$IMG" sh -c "$script"
    assert_success
    assert_output_contains "euid=0"
    run mydock run --rm --security-opt no-new-privileges -v "$PROBE:/probe:ro" "$IMG" sh -c "$script"
    assert_success
    assert_output_contains "euid=1000"
}

@test "CVE-2019-5736: /proc/self/exe as the command never runs mydock in the container" {
    local before after
    before=$(sha256sum <"$MYDOCK_BIN")
    # The command is exec'd by the sealed stub, so /proc/self/exe is the stub, which refuses
    # to run as anything but mydock's first step.
    run mydock run --rm "$IMG" /proc/self/exe version
    [[ $status -eq 126 ]]
    after=$(sha256sum <"$MYDOCK_BIN")
    [[ $before == "$after" ]]
    # No re-exec trick and no mount of the binary anywhere.
    run grep -F " $(readlink -f "$MYDOCK_BIN") " /proc/self/mountinfo
    [[ $status -ne 0 ]]
}

@test "CVE-2019-5736: a #!/proc/self/exe entrypoint can't write the mydock binary" {
    command -v cc >/dev/null || skip "no C compiler"
    local t=$BATS_TEST_TMPDIR before after
    [[ -n $t && -d $t ]]
    # The image's loader and libraries run code inside mydock's own binary (here: an
    # LD_PRELOAD library, with the host's libraries bound in so the binary can start).
    cat >"$t/evil.c" <<'CEOF'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>
__attribute__((constructor)) static void evil(void) {
    struct statvfs sv;
    int ro = statvfs("/proc/self/exe", &sv) == 0 && (sv.f_flag & ST_RDONLY);
    int fd = open("/proc/self/exe", O_WRONLY);
    printf("exe-ro=%d exe-open-write=%s\n", ro, fd >= 0 ? "ok" : strerror(errno));
    if (fd >= 0) { (void)write(fd, "pwned", 5); }
    fflush(stdout);
    _exit(0);
}
CEOF
    cc -shared -fPIC -o "$t/evil.so" "$t/evil.c"
    printf '#!/proc/self/exe\n' >"$t/entry"
    chmod 755 "$t/entry"
    before=$(sha256sum <"$MYDOCK_BIN")
    run mydock run --rm -e LD_PRELOAD=/evil.so -v "$t/evil.so:/evil.so:ro" -v "$t/entry:/entry:ro" \
        -v /usr/lib:/usr/lib:ro -v /usr/lib:/lib:ro -v /usr/lib64:/lib64:ro "$IMG" /entry
    [[ $status -eq 126 ]]
    after=$(sha256sum <"$MYDOCK_BIN")
    [[ $before == "$after" ]]
    # The interpreter resolved to the static stub: the image's loader never ran, so the
    # preloaded code had no chance at all.
    assert_output_not_contains "exe-open-write"
}

@test "the seccomp filter is compiled once and cached under the root" {
    run mydock run --rm "$IMG" true
    assert_success
    run ls "$MD_ROOT/cache"
    assert_output_matches 'seccomp-[0-9a-f]+\.bpf'
}

@test "CVE-2024-21626: a working directory through /proc/self/fd/N is refused" {
    local n
    for n in 3 4 5 6 7 8 9 10; do
        run mydock run --rm -w "/proc/self/fd/$n" "$IMG" sh -c 'pwd; ls'
        [[ $status -eq 125 ]]
        assert_output_not_contains "(unreachable)"
    done
}
