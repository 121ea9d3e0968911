/* mydock-exec-stub: the one program every container process passes through on its way to the
 * user's command (CVE-2019-5736).
 *
 * Why: the process that execs the container's command is a copy of mydock until that execve
 * succeeds. If the command resolves, inside the container, to /proc/self/exe (directly, by a
 * symlink, or as a script's "#!/proc/self/exe" interpreter), the kernel runs the host's mydock
 * binary in the container, where code the image controls (its dynamic loader) can keep that
 * file open and rewrite it once mydock exits. So mydock first execs this stub from a sealed
 * memfd (runtime/exec_command.cpp): from then on /proc/self/exe is the stub, which nobody can
 * write (F_SEAL_WRITE), and the stub performs the real exec.
 *
 * Freestanding (no libc, a few raw syscalls): it is tiny, so copying it into a memfd and
 * exec'ing it costs microseconds, and it works in any image.
 *
 * argv: "mydock-exec" REPORT_FD SEARCH_PATH COMMAND [ARG...]
 *   REPORT_FD    decimal fd of mydock's report pipe; set close-on-exec here, so it closes
 *                when the command runs (mydock's sign of success)
 *   SEARCH_PATH  the container's $PATH when COMMAND has no '/', else empty
 * The command gets argv COMMAND [ARG...] and the stub's environment. On failure the stub writes
 * a report (the layout of runtime/child-internal.h's ChildReport) and exits 127.
 * Started any other way (by a container process exec'ing /proc/self/exe meanwhile) it exits
 * 126 at once. */
#include <asm/unistd.h>
#include <stddef.h>
#include <sys/stat.h>

#define F_SETFD_ 2
#define FD_CLOEXEC_ 1
#define ENOENT_ 2

#if defined(__x86_64__)
__asm__(".text\n.global _start\n_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"   /* argc, argv..., 0, envp..., 0 */
        "  and $-16, %rsp\n"
        "  call stub_main\n"
        "  hlt\n");

static long sys(long n, long a, long b, long c, long d, long e) {
    long r;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8) : "rcx", "r11", "memory");
    return r;
}
#elif defined(__aarch64__)
__asm__(".text\n.global _start\n_start:\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  mov x0, sp\n"
        "  bl stub_main\n"
        "  brk #0\n");

static long sys(long n, long a, long b, long c, long d, long e) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
    return x0;
}
#else
#error "mydock-exec-stub: add _start and a syscall wrapper for this architecture"
#endif

/* The compiler may emit calls to these for struct copies and zeroing. */
void* memset(void* d, int c, size_t n) {
    unsigned char* p = d;
    while (n--) *p++ = (unsigned char)c;
    return d;
}
void* memcpy(void* d, const void* s, size_t n) {
    unsigned char* p = d;
    const unsigned char* q = s;
    while (n--) *p++ = *q++;
    return d;
}

/* runtime/child-internal.h's ChildReport, byte for byte. */
struct report {
    int err;
    char stage[32];
    char message[440];
};

static size_t len(const char* s) {
    size_t n = 0;
    while (s[n]) ++n;
    return n;
}

static int same(const char* a, const char* b) {
    while (*a && *a == *b) ++a, ++b;
    return *a == *b;
}

static void copy(char* dst, size_t cap, const char* src) {
    size_t i = 0;
    for (; src[i] && i + 1 < cap; ++i) dst[i] = src[i];
    dst[i] = 0;
}

static __attribute__((noreturn)) void quit(int code) {
    for (;;) sys(__NR_exit_group, code, 0, 0, 0, 0);
}

static __attribute__((noreturn)) void report(long fd, const char* stage, long err, const char* command) {
    struct report r;
    memset(&r, 0, sizeof r);
    r.err = (int)err;
    copy(r.stage, sizeof r.stage, stage);
    copy(r.message, sizeof r.message, command);
    /* One write below PIPE_BUF: the parent reads it whole or not at all. */
    sys(__NR_write, fd, (long)&r, sizeof r, 0, 0);
    quit(127);
}

__attribute__((noreturn, used)) void stub_main(long* sp) {
    long argc = sp[0];
    char** argv = (char**)(sp + 1);
    char** envp = argv + argc + 1;
    if (argc < 4 || !same(argv[0], "mydock-exec")) quit(126);

    long fd = 0;
    for (const char* p = argv[1]; *p; ++p) {
        if (*p < '0' || *p > '9') quit(126);
        fd = fd * 10 + (*p - '0');
    }
    /* mydock cleared close-on-exec so the report pipe reached us; the command must not get it. */
    sys(__NR_fcntl, fd, F_SETFD_, FD_CLOEXEC_, 0, 0);

    const char* path = argv[2];
    char* command = argv[3];
    char** args = argv + 3;
    if (path[0] == 0) {
        long rc = sys(__NR_execve, (long)command, (long)args, (long)envp, 0, 0);
        report(fd, "exec", -rc, command);
    }

    /* execvpe's search: the first candidate that exists and is not a directory is exec'd; an
     * error other than ENOENT is remembered and the search goes on (a later entry may work). */
    static char full[4096];
    size_t clen = len(command);
    long firstErr = ENOENT_;
    const char* p = path;
    for (;;) {
        const char* end = p;
        while (*end && *end != ':') ++end;
        size_t dlen = (size_t)(end - p);
        if (dlen == 0) {
            full[0] = '.';
            dlen = 1;
        } else if (dlen < sizeof full) {
            memcpy(full, p, dlen);
        }
        if (dlen + 1 + clen + 1 <= sizeof full) {
            full[dlen] = '/';
            memcpy(full + dlen + 1, command, clen + 1);
            struct stat st;
            if (sys(__NR_newfstatat, -100 /* AT_FDCWD */, (long)full, (long)&st, 0, 0) == 0 && !S_ISDIR(st.st_mode)) {
                long rc = sys(__NR_execve, (long)full, (long)args, (long)envp, 0, 0);
                if (rc != -ENOENT_ && firstErr == ENOENT_) firstErr = -rc;
            }
        }
        if (!*end) break;
        p = end + 1;
    }
    report(fd, "execpath", firstErr, command);
}
