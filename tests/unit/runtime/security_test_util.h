// Helpers for the security tests: run a check in a forked child (the calls under test are
// irreversible: seccomp, capset, setuid) and get its result back as an exit status.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

namespace mydock::testutil {

// Runs `body` in a forked child; returns its exit status (0 = all checks passed), or
// 1000 + signal when it died of one. The child never returns into gtest.
inline int inChild(const std::function<int()>& body) {
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int rc = 99;
        try {
            rc = body();
        } catch (...) {
            rc = 98;
        }
        std::fflush(nullptr);
        ::_exit(rc);
    }
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0) {
    }
    if (WIFSIGNALED(st)) return 1000 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

// A line of /proc/self/status ("CapEff:\t0000...") value, or "" when absent.
inline std::string statusField(const char* key) {
    FILE* f = std::fopen("/proc/self/status", "re");
    if (!f) return "";
    char line[512];
    std::string out;
    const std::size_t n = std::strlen(key);
    while (std::fgets(line, sizeof line, f)) {
        if (std::strncmp(line, key, n) == 0 && line[n] == ':') {
            const char* v = line + n + 1;
            while (*v == ' ' || *v == '\t') ++v;
            out = v;
            while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
            break;
        }
    }
    std::fclose(f);
    return out;
}

}  // namespace mydock::testutil
