// The per-container monitor of `run -d` (podman's conmon, in-process): the CLI forks it, it
// leaves the caller's session, holds the container's output pipes (or pty), copies them to
// the json-file log through a small logger child, runs the container to its end and records
// the exit. The container dies with its monitor (PDEATHSIG), never with the CLI.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/unique_fd.h"

namespace mydock::runtime {

class Monitor {
public:
    // Forks. Returns false in the CLI, true in the monitor (which then owns fds 0, 1, 2: /dev/null
    // or a held-open pipe for stdin when `keepStdin`, and the logger's pipes for 1 and 2).
    bool fork(const std::string& logPath, bool keepStdin);

    // CLI: waits until the monitor says the container runs; throws its error otherwise.
    void waitStarted();

    // Monitor: tell the CLI (once) that the container runs, or why it could not start.
    void reportStarted() noexcept;
    void reportFailed(const std::string& message, int code) noexcept;

    // Monitor: after the container ended: closes our ends of the output pipes and waits for
    // the logger, so the log is complete before the record says "exited".
    void finishOutput() noexcept;

private:
    UniqueFd statusR_, statusW_;   // monitor -> CLI: "" + EOF = started; code + message = failed
    UniqueFd stdinHold_;           // -i: the write end of the container's stdin, never written
    pid_t logger_ = -1;
};

}  // namespace mydock::runtime
