// The per-container monitor of `run -d` (podman's conmon, in-process): the CLI forks it, it
// leaves the caller's session, holds the container's output pipes (or pty), copies them to
// the json-file log through a small logger child, runs the container to its end and records
// the exit. The container dies with its monitor (PDEATHSIG), never with the CLI.
#pragma once

#include <sys/types.h>

#include <string>
#include <thread>

#include "common/unique_fd.h"

namespace mydock::runtime {

// Copies two pipes into a json-file log until both reach EOF (writeJsonLog): the monitor's
// logger, a child process; the foreground relay's, a thread of mydock (no fork on the run
// path; the relay tees the container's output into the pipes).
class LogWriter {
public:
    enum class Mode { Process, Thread };
    LogWriter() = default;
    LogWriter(const LogWriter&) = delete;
    LogWriter& operator=(const LogWriter&) = delete;
    ~LogWriter() { finish(); }
    // Starts the logger; `outW` and `errW` receive the pipes' write ends. A Thread inherits
    // the caller's signal mask: start it with the forwarded signals blocked.
    void start(const std::string& logPath, UniqueFd& outW, UniqueFd& errW, Mode mode = Mode::Process);
    // Waits for the logger (every write end must be closed by then, or this blocks).
    void finish() noexcept;

private:
    pid_t pid_ = -1;
    std::thread thread_;
};

// --restart: docker's policies. The monitor (or the foreground mydock) applies them when the
// container exits; nothing revives a container after a reboot (no daemon).
struct RestartPolicy {
    enum class Mode { No, OnFailure, Always, UnlessStopped };
    Mode mode = Mode::No;
    int maxRetries = 0;   // on-failure only; 0: no limit
    std::string name() const;   // "no", "on-failure", "always", "unless-stopped"
};

// "no", "on-failure[:N]", "always", "unless-stopped" (empty = "no"); docker's messages.
RestartPolicy parseRestartPolicy(const std::string& value);

// Whether a container that exited with `exitCode`, already restarted `restartCount` times,
// is run again. Never when the user stopped it (stop, kill, rm).
bool shouldRestart(const RestartPolicy& p, int exitCode, int restartCount, bool stoppedByUser);

// docker's restart delay: 100 ms, doubled at each restart up to 1 min, back to 100 ms after a
// run of 10 s or more.
class RestartBackoff {
public:
    long long nextDelayMs(long long ranMs);

private:
    long long delay_ = 0;
};

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
    LogWriter logger_;
};

}  // namespace mydock::runtime
