/* mydock-init: the minimal PID 1 that `mydock run --init` puts in front of the command.
 * It starts the command as its child, forwards the signals it receives to it, reaps every
 * zombie that gets reparented to it (orphans of the container), and exits with the
 * command's status (128+N if the command was killed by signal N).
 * Usage: mydock-init [--] COMMAND [ARG...]   (the command is searched in $PATH) */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int exitCode(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

int main(int argc, char** argv) {
    int first = 1;
    if (first < argc && strcmp(argv[first], "--") == 0) first++;
    if (first >= argc) {
        fprintf(stderr, "mydock-init: usage: mydock-init [--] COMMAND [ARG...]\n");
        return 125;
    }

    /* Every signal but the synchronous ones is taken through sigwaitinfo() and forwarded. */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGABRT);
    sigdelset(&all, SIGTRAP);
    sigdelset(&all, SIGSYS);
    sigprocmask(SIG_BLOCK, &all, &old);

    pid_t child = fork();
    if (child < 0) {
        perror("mydock-init: fork");
        return 125;
    }
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        /* Its own process group in the foreground of the terminal (if any), so the terminal's
         * Ctrl-C and job control reach the command, not us. */
        setpgid(0, 0);
        if (isatty(STDIN_FILENO)) {
            signal(SIGTTOU, SIG_IGN);
            tcsetpgrp(STDIN_FILENO, getpgrp());
            signal(SIGTTOU, SIG_DFL);
        }
        execvp(argv[first], argv + first);
        int err = errno;
        fprintf(stderr, "mydock-init: exec %s failed: %s\n", argv[first], strerror(err));
        _exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
    }

    int code = 0;
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);
        if (sig < 0) {
            if (errno == EINTR) continue;
            perror("mydock-init: sigwaitinfo");
            return 125;
        }
        if (sig != SIGCHLD) {
            /* SIGTTIN/SIGTTOU/SIGTSTP aimed at us are for the command's job control. */
            kill(child, sig);
            continue;
        }
        /* Reap everything that has ended: the command, and orphans reparented to us. */
        for (;;) {
            int status;
            pid_t p = waitpid(-1, &status, WNOHANG);
            if (p <= 0) break;
            if (p == child) {
                code = exitCode(status);
                /* The command is done: leave. The kernel kills what is left of the container
                 * when its PID 1 exits. */
                return code;
            }
        }
    }
}
