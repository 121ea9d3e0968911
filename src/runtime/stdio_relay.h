// The foreground side of a process mydock started in a container (run's PID 1, exec's
// process): signals blocked and read through a signalfd, the child reaped once, and the relay
// of its stdio (a pty, or pipes where the caller's fds are terminals or where the output is
// also logged) until it ends.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/unique_fd.h"
#include "runtime/child-internal.h"

namespace mydock::runtime::detail {

// Signals sent to mydock that go to the container's process.
inline constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

// Blocks the forwarded signals and SIGCHLD for the child's life (they arrive through a
// signalfd instead) and ignores SIGPIPE (a closed stdout must not kill mydock mid-relay).
class SignalScope {
public:
    SignalScope();
    ~SignalScope();
    SignalScope(const SignalScope&) = delete;
    SignalScope& operator=(const SignalScope&) = delete;
    int fd() const { return fd_.get(); }

private:
    sigset_t old_;
    struct sigaction oldPipe_ {};
    UniqueFd fd_;
};

struct Pipe {
    UniqueFd r, w;
    Pipe();   // O_CLOEXEC both ends; throws mydock::Error
};

// A reaped-once child: SIGKILLed and waited for if we leave early (an error, an exception).
class ChildProcess {
public:
    explicit ChildProcess(pid_t pid) : pid_(pid) {}
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess();
    pid_t pid() const { return pid_; }
    // Non-blocking (or blocking) reap; true once the child's status is in `status`.
    bool reap(bool block);
    int status() const { return status_; }

private:
    pid_t pid_;
    bool reaped_ = false;
    int status_ = 0;
};

// One direction of the relay: bytes from `from` to `to`.
struct Pump {
    int from;
    int to;
    UniqueFd ownedTo;      // closed at EOF of `from` (the container's stdin pipe)
    bool output;           // container -> caller: must be drained before we return
    int logStream = -1;    // output only: 0 stdout, 1 stderr (what relayUntilExit logs it as)
    bool done = false;
};

// The container process's stdio when it has no pty: the caller's fds pass straight through,
// except terminals (a host tty fd inside a container could inject input: TIOCSTI), which are
// relayed through pipes, as are stdout and stderr when `pipeOutputs` (to be logged too);
// stdin is /dev/null unless `stdinOpen`.
struct StdioPlumbing {
    int childFds[3] = {-1, -1, -1};   // to dup2 onto 0, 1, 2 in the child (-1: keep ours)
    std::vector<Pump> pumps;
    UniqueFd devnull;
    std::vector<UniqueFd> childEnds;    // the child's ends: close them once it is started
    std::vector<UniqueFd> pumpSources;  // our read ends of its output pipes
    // After fork/clone: drop what only the child needs.
    void closeChildEnds() {
        childEnds.clear();
        devnull.reset();
    }
};
StdioPlumbing plumbStdio(bool stdinOpen, bool pipeOutputs = false);


// What connects mydock to a child it starts in a container (run's clone child, exec's child):
// the go byte it waits for (sync), the report pipe (a ChildReport on failure, EOF once the
// command runs), and with -t the socket its pty master comes back on.
struct ChildChannels {
    Pipe sync, report;
    UniqueFd consoleParent, consoleChild;   // only with `terminal`
    explicit ChildChannels(bool terminal);
    // The child's fds (for its args): read end of sync, write end of report, its socket (-1).
    int childSyncFd() const { return sync.r.get(); }
    int childReportFd() const { return report.w.get(); }
    int childConsoleFd() const { return consoleChild.get(); }
    // In the child right after fork/clone: our ends would keep its pipes open (no EOF if we die).
    void closeParentEnds() const noexcept;
    // In the parent after fork/clone: the child's ends are its own now.
    void closeChildEnds() noexcept;
    // Lets the child run (it waits for this byte); `what` words the error ("start the ...").
    // A child that died meanwhile is no error here: awaitExec() reports why it died.
    void release(const std::string& what);
    // One byte without closing: a child with ChildArgs::networkByte waits for a second one.
    void go(const std::string& what);
    // For a parent step that failed while the child ran on (bridge wiring): closes the sync
    // pipe (a child still waiting exits, 125) and waits for the child's report, if it wrote
    // one, so that its own failure (the likelier cause) is the one reported. False at EOF.
    bool takeReport(ChildReport& r);
    // Waits until the child's command runs, and returns the pty master (empty without -t).
    // Otherwise reaps `child` and throws: `throwReport(r)` for its report, or an Error
    // "<diedPrefix> died during setup (status N)" when it died without one.
    UniqueFd awaitExec(ChildProcess& child, void (*throwReport)(const ChildReport&), const std::string& diedPrefix);
};

// Runs until `child` is reaped and its output drained (2 s at most after it ended):
// relays `pumps`; with a pty `master`, also the pty's output to our stdout and, when
// `stdinOpen`, our stdin to it (in raw mode, restored on every way out), keeping the window
// size; forwards the signals read from `signalFd` to the child. A terminal that hangs up ends
// the session (SIGHUP, then SIGKILL a second later).
// With a `logPath`, the output pumps (by their logStream; the pty's output as "stdout") are
// also appended to that json-file log, complete when this returns. An output whose
// destination fails (our stdout closed: EPIPE) is still read: logged, or else dropped, so
// that the child never blocks on a full pipe and ends with its own exit code.
void relayUntilExit(ChildProcess& child, int signalFd, std::vector<Pump>& pumps, int master, bool stdinOpen,
                    const std::string& logPath = {});

}  // namespace mydock::runtime::detail
