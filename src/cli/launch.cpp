#include "cli/launch.h"

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "common/clock.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/lock.h"
#include "common/log.h"
#include "image/image_store.h"
#include "runtime/container.h"
#include "runtime/monitor.h"
#include "runtime/net_inspect.h"

namespace mydock::cli {

namespace {

using namespace runtime;

constexpr const char* kUserStoppedFile = "stopped-by-user";

void sleepMs(long long ms) {
    struct timespec ts {static_cast<time_t>(ms / 1000), (ms % 1000) * 1000000L};
    while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

RestartPolicy policyOf(const ContainerRecord& rec) {
    RestartPolicy p;
    if (!rec.extra.contains("HostConfig") || !rec.extra["HostConfig"].contains("RestartPolicy")) return p;
    const auto& rp = rec.extra["HostConfig"]["RestartPolicy"];
    try {
        std::string name = rp.value("Name", "no");
        int max = rp.value("MaximumRetryCount", 0);
        p = parseRestartPolicy(max > 0 ? name + ":" + std::to_string(max) : name);
    } catch (const std::exception& e) {
        log::warn("ignoring the container's restart policy: " + std::string(e.what()));
    }
    return p;
}

std::string networkModeOf(const ContainerRecord& rec) {
    if (rec.extra.contains("HostConfig") && rec.extra["HostConfig"].contains("NetworkMode") &&
        rec.extra["HostConfig"]["NetworkMode"].is_string())
        return rec.extra["HostConfig"]["NetworkMode"].get<std::string>();
    return "none";
}

void clearUserStopped(const ContainerStore& store, const std::string& id) {
    ::unlink(fs::join(store.containerDir(id), kUserStoppedFile).c_str());
}

// Drops the image hold, then the container (a hold never outlives its record). Never throws.
void removeContainer(Context& ctx, const ContainerStore& containers, const std::string& id) {
    try {
        image::ImageStore::releaseHold(ctx.root, id);   // no store opening (mkdirs, sweep) for one unlink
    } catch (const std::exception& e) {
        log::warn(std::string("releasing the image: ") + e.what());
    }
    try {
        containers.remove(id);
    } catch (const std::exception& e) {
        log::warn(std::string("removing the container: ") + e.what());
    }
}

// Foreground `run -a`: the streams not attached are not shown (our fd points at /dev/null
// for as long as this object lives); the relay logs every stream (spec.logPath).
class OutputRedirect {
public:
    OutputRedirect(const LaunchOptions& o, const ContainerSpec& spec) {
        if (spec.terminal || (o.attachStdout && o.attachStderr)) return;
        UniqueFd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
        if (!devnull) throwErrno("open /dev/null");
        std::fflush(nullptr);
        if (!o.attachStdout) redirect(1, devnull);
        if (!o.attachStderr) redirect(2, devnull);
    }
    ~OutputRedirect() { restore(); }
    void restore() noexcept {
        std::fflush(nullptr);
        for (auto& [fd, saved] : saved_) ::dup3(saved.get(), fd, 0);
        saved_.clear();
    }

private:
    void redirect(int fd, const UniqueFd& to) {
        // Our own fd is kept (O_CLOEXEC) to put it back afterwards.
        UniqueFd saved(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
        if (!saved) throwErrno("dup");
        if (::dup3(to.get(), fd, 0) < 0) throwErrno("dup3");
        saved_.emplace_back(fd, std::move(saved));
    }
    std::vector<std::pair<int, UniqueFd>> saved_;
};

// Runs the container, and again as long as its restart policy says so; records every step.
// Throws when the first start fails. Runs in the monitor, or in the foreground mydock.
ExitStatus supervise(const ContainerSpec& spec, ContainerRecord& rec, const ContainerStore& containers, Monitor* monitor) {
    const RestartPolicy policy = policyOf(rec);
    const std::string network = networkModeOf(rec);
    RestartBackoff backoff;
    int restarts = 0;
    rec.extra["RestartCount"] = 0;
    auto stoppedNetwork = [&] {
        try {
            rec.extra["NetworkSettings"] = net::stoppedNetworkSettings(network);
        } catch (...) {
        }
    };
    auto finish = [&](const ExitStatus& st) {
        // The log is complete before the record says so (logs -f and wait stop at the lock).
        if (monitor) monitor->finishOutput();
        rec.state = "exited";
        containers.save(rec);
        return st;
    };
    for (bool first = true;; first = false) {
        long long t0 = monotonicMs();
        ExitStatus st;
        try {
            st = runContainer(spec, [&](pid_t pid) {
                rec.state = "running";
                rec.pid = pid;
                rec.startedAt = nowRfc3339();
                rec.error.clear();
                // The address and host ports the bridge gave it (the lease), for inspect and ps.
                try {
                    rec.extra["NetworkSettings"] = net::networkSettings(spec.stateRoot, spec.id, network);
                } catch (const std::exception& e) {
                    log::warn(std::string("network settings: ") + e.what());
                }
                containers.save(rec);
                if (monitor) monitor->reportStarted();
            });
        } catch (const Error& e) {
            // docker keeps a container that failed to start as "Created", with the error; one
            // that fails to restart ends "exited" with it.
            rec.state = first ? "created" : "exited";
            rec.pid = 0;
            rec.exitCode = e.exitCode();
            rec.error = e.what();
            if (!first) rec.finishedAt = nowRfc3339();
            stoppedNetwork();
            try {
                containers.save(rec);
            } catch (...) {
            }
            if (first) throw;
            std::fprintf(stderr, "Error: restarting the container: %s\n", e.what());
            if (monitor) monitor->finishOutput();
            return ExitStatus{e.exitCode(), 0, false};
        }
        rec.pid = 0;
        rec.exitCode = st.code;
        rec.oomKilled = st.oomKilled;
        rec.finishedAt = nowRfc3339();
        stoppedNetwork();
        if (!shouldRestart(policy, st.code, restarts, userStopped(containers, spec.id))) return finish(st);
        rec.state = "restarting";
        containers.save(rec);
        // Wait out the delay, watching for a user's stop (which ends the loop).
        long long until = monotonicMs() + backoff.nextDelayMs(monotonicMs() - t0);
        while (monotonicMs() < until && !userStopped(containers, spec.id))
            sleepMs(std::min(50LL, std::max(1LL, until - monotonicMs())));
        if (userStopped(containers, spec.id)) return finish(st);
        rec.extra["RestartCount"] = ++restarts;
    }
}

}  // namespace

std::string logPath(const ContainerStore& store, const std::string& id) {
    return fs::join(store.containerDir(id), id + "-json.log");
}

void markUserStopped(const ContainerStore& store, const std::string& id) {
    std::string dir = store.containerDir(id);
    if (!fs::isDir(dir)) return;
    // A file beside the record, not a record field: the monitor rewrites the record from its
    // own copy and would lose a field another process set.
    UniqueFd fd(::open(fs::join(dir, kUserStoppedFile).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd && errno != ENOENT) throwErrno("mark container " + id + " stopped");
}

bool userStopped(const ContainerStore& store, const std::string& id) {
    return fs::exists(fs::join(store.containerDir(id), kUserStoppedFile));
}

bool monitorAlive(const ContainerStore& store, const std::string& id) {
    std::string lock = fs::join(store.containerDir(id), "running.lock");
    if (!fs::exists(lock)) return false;
    try {
        return !FileLock::tryLock(lock, FileLock::Mode::Shared);
    } catch (const Error&) {
        return false;   // removed meanwhile
    }
}

void stopContainer(const ContainerStore& store, const std::string& id, int sig, int timeoutSecs) {
    markUserStopped(store, id);
    const long long start = monotonicMs();
    pid_t signalled = 0;
    while (monitorAlive(store, id)) {
        auto rec = store.find(id);
        if (!rec) return;
        long long elapsed = monotonicMs() - start;
        bool overdue = timeoutSecs >= 0 && elapsed >= timeoutSecs * 1000LL;
        // The pid is the container's only while its monitor runs it (state "running"); a
        // restarted container has a new one, signalled again.
        if (rec->state == "running" && rec->pid > 0) {
            if (overdue) ::kill(rec->pid, SIGKILL);
            else if (rec->pid != signalled && ::kill(rec->pid, sig) == 0) signalled = rec->pid;
        }
        // After SIGKILL the monitor has 30 s to record the end (< 0: docker's "wait forever").
        if (timeoutSecs >= 0 && elapsed > timeoutSecs * 1000LL + 30000)
            throw Error("timed out waiting for container " + id.substr(0, 12) + " to stop");
        sleepMs(50);
    }
}

int signalNumber(const std::string& in) {
    if (!in.empty() && std::all_of(in.begin(), in.end(), [](unsigned char c) { return std::isdigit(c); })) {
        int n = std::atoi(in.c_str());
        if (n > 0 && n < NSIG) return n;
        throw Error("Invalid signal: " + in);
    }
    std::string s;
    for (char c : in) s += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (s.rfind("SIG", 0) == 0) s = s.substr(3);
    for (int n = 1; n < NSIG; ++n) {
        const char* abbrev = ::sigabbrev_np(n);
        if (abbrev && s == abbrev) return n;
    }
    throw Error("Invalid signal: " + in);
}

void addStopFlags(CLI::App* cmd, StopFlags& f) {
    cmd->add_option("-t,--time", f.timeout, "Seconds to wait before killing the container");
    cmd->add_option("-s,--signal", f.signal, "Signal to send to the container");
    cmd->add_option("CONTAINER", f.names, "Containers")->required();
}

int stopSignal(const ContainerRecord& rec, const std::string& flag) {
    std::string name = flag;
    if (name.empty() && rec.extra.contains("Config") && rec.extra["Config"].is_object())
        name = rec.extra["Config"].value("StopSignal", "");
    return name.empty() ? SIGTERM : signalNumber(name);
}

bool launch(Context& ctx, ContainerSpec spec, ContainerRecord rec, const LaunchOptions& o) {
    ContainerStore containers(ctx.root);
    const std::string id = spec.id;
    // Held by whoever runs the container, for as long as it runs or restarts; the monitor
    // inherits it across the fork.
    FileLock running;
    if (o.tryLock) {
        running = FileLock::tryLock(fs::join(containers.containerDir(id), "running.lock"), FileLock::Mode::Exclusive);
        if (!running) return false;
    } else {
        running = containers.lockRunning(id);
    }
    clearUserStopped(containers, id);
    const bool autoRemove = rec.autoRemove;
    const std::string log = logPath(containers, id);
    const std::int64_t memory = spec.resources.memoryBytes;

    if (o.detach) {
        Monitor monitor;
        // -d -i keeps stdin open; a pty needs no stdin pipe: the monitor holds its master open.
        bool keepStdin = spec.stdinOpen && !spec.terminal;
        if (spec.terminal) spec.stdinOpen = false;
        if (!monitor.fork(log, keepStdin)) {
            running.unlock();   // the monitor's copy keeps it locked
            monitor.waitStarted();
            return true;
        }
        // The monitor: never returns.
        int code = 0;
        try {
            code = supervise(spec, rec, containers, &monitor).code;
        } catch (const Error& e) {
            monitor.reportFailed(e.what(), e.exitCode());
            code = e.exitCode();
        } catch (const std::exception& e) {
            monitor.reportFailed(e.what(), kExitEngineError);
            code = kExitEngineError;
        }
        monitor.finishOutput();
        running.unlock();
        if (autoRemove) removeContainer(ctx, containers, id);
        ::_exit(code);
    }

    // Foreground: what the container writes is shown and logged (docker's json-file), so that
    // `logs` works afterwards and `logs -f` follows it from elsewhere meanwhile. --rm too (its
    // log goes with it, but `logs -f` works meanwhile): the pipes cost ~0.03 ms on
    // `run --rm IMG true` (the logger thread starts at the first output only; started always,
    // it cost ~0.25 ms).
    spec.logPath = log;
    ExitStatus st;
    {
        OutputRedirect redirect(o, spec);
        try {
            st = supervise(spec, rec, containers, nullptr);
        } catch (...) {
            redirect.restore();
            running.unlock();
            if (autoRemove) removeContainer(ctx, containers, id);
            throw;
        }
    }
    running.unlock();
    if (autoRemove) removeContainer(ctx, containers, id);
    if (st.oomKilled)
        std::fprintf(stderr, "mydock: container %s was OOM killed (memory limit of %lld bytes reached)\n",
                     id.substr(0, 12).c_str(), static_cast<long long>(memory));
    ctx.exitCode = st.code;
    return true;
}

}  // namespace mydock::cli
