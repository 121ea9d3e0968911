// The one way a container runs, shared by run, start and restart: in the foreground (this
// mydock relays and waits) or detached under a forked monitor (json-file log); either way the
// restart policy is applied by whoever runs it, and the record keeps the state
// (running, restarting, exited), RestartCount, times and exit code.
//
// Choices where docker has a daemon and we have none:
//  - `run --restart P` in the foreground: this mydock applies P itself and stays attached
//    across restarts (Ctrl-C is forwarded to the container as usual; `mydock stop` from another
//    shell ends the loop; killing this mydock ends it too). Detached, the monitor applies it.
//  - Everything a container writes goes to its json-file log, in the foreground too (this
//    mydock relays the output and logs it, as docker's daemon does); `run -a` only chooses
//    which streams are also shown. Every container has its log path.
//  - Nothing revives containers after a reboot: a record left "running"/"restarting" by a
//    monitor that is gone reads as exited, and `start` runs it again.
#pragma once

#include <string>
#include <vector>

#include "cli/context.h"
#include "runtime/container_store.h"
#include "runtime/spec.h"

namespace mydock::cli {

struct LaunchOptions {
    bool detach = false;
    // Foreground only: the streams shown to the caller (all of them are logged).
    bool attachStdout = true, attachStderr = true;
    bool tryLock = false;   // start: a container someone else runs meanwhile is left alone
};

// Runs `rec`'s container from `spec` (a fresh start: RestartCount 0, the user's stop mark
// cleared). Foreground: until it ends for good (ctx.exitCode = its code). Detached: returns
// once it runs, the monitor does the rest. Throws mydock::Error when it could not start
// (a --rm container is then removed). Returns false only with tryLock, when it was running.
bool launch(Context& ctx, runtime::ContainerSpec spec, runtime::ContainerRecord rec, const LaunchOptions& opts);

// The container's json-file log.
std::string logPath(const runtime::ContainerStore& store, const std::string& id);

// stop, kill and rm mark the container as stopped by the user: its restart policy no longer
// revives it (docker's rule: a crash restarts, a user's stop does not). start clears it.
void markUserStopped(const runtime::ContainerStore& store, const std::string& id);
bool userStopped(const runtime::ContainerStore& store, const std::string& id);

// The process running the container (monitor or foreground mydock) is alive: the container
// runs, or waits to be restarted.
bool monitorAlive(const runtime::ContainerStore& store, const std::string& id);

// docker stop: marks it, sends `sig` to its first process, SIGKILL after `timeoutSecs`
// (< 0: never), and returns once its monitor has let go (a restart loop ends too).
void stopContainer(const runtime::ContainerStore& store, const std::string& id, int sig, int timeoutSecs);

// "TERM", "SIGTERM", "15" -> 15 (mydock::Error "Invalid signal: X" otherwise).
int signalNumber(const std::string& name);

// The flags of stop and restart (kill takes -s and the names).
struct StopFlags {
    int timeout = 10;     // -t: seconds before SIGKILL
    std::string signal;   // -s: default stopSignal's
    std::vector<std::string> names;
};
// Adds -t/--time, -s/--signal and the required CONTAINER... to `cmd`.
void addStopFlags(CLI::App* cmd, StopFlags& f);

// The signal stop and restart send: `flag` (-s) when given, else the image's StopSignal, else
// SIGTERM.
int stopSignal(const runtime::ContainerRecord& rec, const std::string& flag);

}  // namespace mydock::cli
