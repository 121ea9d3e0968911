// mydock logs / stop / kill / wait: the verbs that act on a (detached) container through its
// record, its pid and its monitor's running.lock (held for as long as the container runs).
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "cli/context.h"
#include "cli/each_name.h"
#include "cli/image_format.h"
#include "cli/launch.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/lock.h"
#include "runtime/container_store.h"
#include "runtime/logs.h"

namespace mydock::cli {

namespace {

void sleepMs(int ms) {
    struct timespec ts {ms / 1000, (ms % 1000) * 1000000L};
    ::nanosleep(&ts, nullptr);
}

// Waits until the monitor lets go of running.lock (the container ended and is recorded), at
// most `ms` milliseconds (< 0: forever). True when it ended.
bool waitEnded(const runtime::ContainerStore& store, const runtime::ContainerRecord& rec, long long ms) {
    for (long long waited = 0; store.isRunning(rec); waited += 50) {
        if (ms >= 0 && waited >= ms) return false;
        sleepMs(50);
    }
    return true;
}

// ---- logs ----

struct LogsFlags {
    bool follow = false, timestamps = false;
    std::string tail = "all", since;
    std::string container;
};

// --since: RFC 3339, a Unix timestamp, or a duration before now ("10m", "1h30m", "5s").
double sinceSeconds(const std::string& s) {
    if (s.empty()) return 0;
    if (s.find('T') != std::string::npos || s.find('-') != std::string::npos) {
        std::int64_t t = parseRfc3339(s);
        if (!t) throw Error("invalid value for \"since\": " + s);
        return static_cast<double>(t);
    }
    char* end;
    double v = std::strtod(s.c_str(), &end);
    if (*end == '\0') return v;   // Unix seconds
    double total = 0;
    const char* p = s.c_str();
    while (*p) {
        double n = std::strtod(p, &end);
        if (end == p) throw Error("invalid value for \"since\": " + s);
        p = end;
        if (*p == 'h') total += n * 3600;
        else if (*p == 'm' && p[1] == 's') total += n / 1000, ++p;
        else if (*p == 'm') total += n * 60;
        else if (*p == 's') total += n;
        else throw Error("invalid value for \"since\": " + s);
        ++p;
    }
    return static_cast<double>(::time(nullptr)) - total;
}

void printEntry(const runtime::LogEntry& e, bool timestamps) {
    FILE* out = e.stream == "stderr" ? stderr : stdout;
    if (timestamps) std::fprintf(out, "%s ", e.time.c_str());
    std::fwrite(e.log.data(), 1, e.log.size(), out);
}

void logs(Context& ctx, const LogsFlags& f) {
    runtime::ContainerStore store(ctx.root);
    auto rec = findContainer(store, f.container);
    std::string path = fs::join(store.containerDir(rec.id), rec.id + "-json.log");
    long long tail = -1;
    if (f.tail != "all") {
        char* end;
        tail = std::strtoll(f.tail.c_str(), &end, 10);
        if (*end || f.tail.empty()) throw Error("invalid value for \"tail\": " + f.tail);
    }
    double since = sinceSeconds(f.since);
    auto keep = [&](const runtime::LogEntry& e) {
        return since <= 0 || static_cast<double>(parseRfc3339(e.time)) >= std::floor(since);
    };

    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    std::string buf;
    char chunk[65536];
    auto readMore = [&] {
        if (!fd) fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return false;
        bool any = false;
        for (ssize_t n; (n = ::read(fd.get(), chunk, sizeof chunk)) > 0;) {
            buf.append(chunk, static_cast<std::size_t>(n));
            any = true;
        }
        return any;
    };
    readMore();
    auto first = runtime::takeLogEntries(buf);
    std::vector<runtime::LogEntry> shown;
    for (auto& e : first)
        if (keep(e)) shown.push_back(std::move(e));
    std::size_t start = tail >= 0 && static_cast<std::size_t>(tail) < shown.size() ? shown.size() - static_cast<std::size_t>(tail) : 0;
    for (std::size_t i = start; i < shown.size(); ++i) printEntry(shown[i], f.timestamps);
    std::fflush(nullptr);
    if (!f.follow) return;
    // Follow until the container ends: its monitor finishes the log before it lets go of the lock.
    for (;;) {
        bool ended = !store.isRunning(rec);
        if (readMore()) {
            for (const auto& e : runtime::takeLogEntries(buf))
                if (keep(e)) printEntry(e, f.timestamps);
            std::fflush(nullptr);
            continue;
        }
        if (ended) return;
        sleepMs(100);
    }
}

// ---- stop / kill / wait ----

// Sends `sig` to the container's first process while (and only while) it runs: the pid is
// its only while the monitor holds the lock.
bool signalContainer(const runtime::ContainerStore& store, const runtime::ContainerRecord& rec, int sig) {
    if (!store.isRunning(rec) || rec.pid <= 0) return false;
    if (::kill(rec.pid, sig) != 0 && errno != ESRCH) throwErrno("kill " + std::to_string(rec.pid));
    return true;
}

void stopOne(const runtime::ContainerStore& store, const std::string& ref, int timeout, const std::string& sigFlag) {
    auto rec = findContainer(store, ref);
    int sig = stopSignal(rec, sigFlag);
    // A PID 1 without a handler ignores every signal but SIGKILL: hence the timeout. The
    // container is marked stopped by the user first: its restart policy must not revive it,
    // and a restart loop waiting between runs ends too (cli/launch.h).
    stopContainer(store, rec.id, sig, timeout);
}

}  // namespace

void registerLifecycle(CLI::App& app, Context& ctx) {
    auto lf = std::make_shared<LogsFlags>();
    CLI::App* logsCmd = app.add_subcommand("logs", "Fetch the logs of a container");
    logsCmd->add_flag("-f,--follow", lf->follow, "Follow log output");
    logsCmd->add_flag("-t,--timestamps", lf->timestamps, "Show timestamps");
    logsCmd->add_option("-n,--tail", lf->tail, "Number of lines to show from the end of the logs");
    logsCmd->add_option("--since", lf->since, "Show logs since timestamp or relative (e.g. 42m)");
    logsCmd->add_option("CONTAINER", lf->container, "Container")->required();
    logsCmd->callback([lf, &ctx] { logs(ctx, *lf); });

    auto sf = std::make_shared<StopFlags>();
    CLI::App* stopCmd = app.add_subcommand("stop", "Stop one or more running containers");
    addStopFlags(stopCmd, *sf);
    stopCmd->callback([sf, &ctx] {
        runtime::ContainerStore store(ctx.root);
        eachName(ctx, sf->names, [&](const std::string& n) { stopOne(store, n, sf->timeout, sf->signal); });
    });

    auto kf = std::make_shared<StopFlags>();
    kf->signal = "KILL";
    CLI::App* killCmd = app.add_subcommand("kill", "Kill one or more running containers");
    killCmd->add_option("-s,--signal", kf->signal, "Signal to send to the container");
    killCmd->add_option("CONTAINER", kf->names, "Containers")->required();
    killCmd->callback([kf, &ctx] {
        runtime::ContainerStore store(ctx.root);
        int sig = signalNumber(kf->signal);
        eachName(ctx, kf->names, [&](const std::string& n) {
            auto rec = findContainer(store, n);
            if (store.isRunning(rec)) markUserStopped(store, rec.id);   // no restart policy revives it
            bool signalled = signalContainer(store, rec, sig);
            if (!signalled && rec.state == "restarting")
                throw Error("cannot kill container: " + n + ": container " + rec.id + " is restarting, wait until the container is running", 1);
            if (!signalled)
                throw Error("cannot kill container: " + n + ": container " + rec.id + " is not running", 1);
        });
    });

    auto wf = std::make_shared<std::vector<std::string>>();
    CLI::App* waitCmd = app.add_subcommand("wait", "Block until one or more containers stop, then print their exit codes");
    waitCmd->add_option("CONTAINER", *wf, "Containers")->required();
    waitCmd->callback([wf, &ctx] {
        runtime::ContainerStore store(ctx.root);
        for (const auto& n : *wf) {
            try {
                auto rec = findContainer(store, n);
                waitEnded(store, rec, -1);
                // Reread: the monitor recorded the exit before it let go of the lock (a --rm
                // container may be gone by now: then the last code we saw).
                if (auto done = store.find(rec.id)) rec = *done;
                std::printf("%d\n", rec.exitCode);
                std::fflush(stdout);
            } catch (const Error& e) {
                daemonError(ctx, e.what());
            }
        }
    });
}

}  // namespace mydock::cli
