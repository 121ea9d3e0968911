// mydock start [-a] [-i] C... and mydock restart [-t SECS] C...: a stopped container runs
// again on its kept upper dir, from the spec `run` resolved (runtime/spec_json.h), through
// the same launch path as run (cli/launch.h).
#include <signal.h>

#include <cstdio>
#include <memory>

#include "cli/context.h"
#include "cli/each_name.h"
#include "cli/launch.h"
#include "common/error.h"
#include "runtime/container_store.h"
#include "runtime/spec_json.h"

namespace mydock::cli {

namespace {

struct StartFlags {
    bool attach = false, interactive = false;
    std::vector<std::string> names;
};

runtime::ContainerSpec startableSpec(const runtime::ContainerStore& store, const runtime::ContainerRecord& rec) {
    auto spec = runtime::loadSpec(store.containerDir(rec.id));
    if (!spec)
        throw Error("container " + rec.name + " cannot be started: it was created by an older mydock (it has no spec.json)", 1);
    if (spec->id != rec.id) throw Error("container " + rec.name + " cannot be started: its spec belongs to another container", 1);
    return *spec;
}

// A fresh start of a stopped container: the last run's exit code and error go.
void resetForStart(runtime::ContainerRecord& rec) {
    rec.exitCode = 0;
    rec.oomKilled = false;
    rec.error.clear();
}

// Starts one container; one that already runs is left as it is (docker: no error).
void startOne(Context& ctx, const runtime::ContainerStore& store, const std::string& ref, const StartFlags& f) {
    auto rec = findContainer(store, ref);
    if (monitorAlive(store, rec.id)) {
        // docker: starting a running container does nothing. Attaching to it needs a daemon.
        if (f.attach)
            throw Error("container " + rec.name + " is already running: mydock cannot attach to it (use mydock logs -f)", 1);
        return;
    }
    auto spec = startableSpec(store, rec);
    resetForStart(rec);
    LaunchOptions opts;
    opts.detach = !f.attach;
    opts.tryLock = true;
    // start -a without -i: stdin is not attached (it is /dev/null).
    if (f.attach && !f.interactive) spec.stdinOpen = false;
    launch(ctx, spec, rec, opts);
}

void start(Context& ctx, StartFlags f) {
    // docker: -i attaches too (stdin, stdout and stderr).
    f.attach = f.attach || f.interactive;
    if (f.attach && f.names.size() > 1) throw Error("you cannot start and attach multiple containers at once", 1);
    runtime::ContainerStore store(ctx.root);
    // Attached: the one container's errors are this verb's own.
    if (f.attach) return startOne(ctx, store, f.names.front(), f);
    std::vector<std::string> failed = eachName(ctx, f.names, [&](const std::string& n) { startOne(ctx, store, n, f); });
    if (!failed.empty()) {
        std::string list;
        for (const auto& n : failed) list += (list.empty() ? "" : ", ") + n;
        throw Error("failed to start containers: " + list, 1);
    }
}

void restartOne(Context& ctx, const runtime::ContainerStore& store, const std::string& ref, const StopFlags& f) {
    const int timeout = f.timeout;
    auto rec = findContainer(store, ref);
    auto spec = startableSpec(store, rec);
    int sig = stopSignal(rec, f.signal);
    if (monitorAlive(store, rec.id)) stopContainer(store, rec.id, sig, timeout);
    // A --rm container is gone once stopped: docker's "No such container".
    rec = findContainer(store, rec.id);
    resetForStart(rec);
    LaunchOptions opts;
    opts.detach = true;
    opts.tryLock = true;   // started by someone else meanwhile: it runs, as asked
    launch(ctx, spec, rec, opts);
}

}  // namespace

void registerStart(CLI::App& app, Context& ctx) {
    auto sf = std::make_shared<StartFlags>();
    CLI::App* startCmd = app.add_subcommand("start", "Start one or more stopped containers");
    startCmd->add_flag("-a,--attach", sf->attach, "Attach STDOUT/STDERR and forward signals");
    startCmd->add_flag("-i,--interactive", sf->interactive, "Attach container's STDIN");
    startCmd->add_option("CONTAINER", sf->names, "Containers")->required();
    startCmd->callback([sf, &ctx] { start(ctx, *sf); });

    auto rf = std::make_shared<StopFlags>();
    CLI::App* restartCmd = app.add_subcommand("restart", "Restart one or more containers");
    addStopFlags(restartCmd, *rf);
    restartCmd->callback([rf, &ctx] {
        runtime::ContainerStore store(ctx.root);
        eachName(ctx, rf->names, [&](const std::string& n) { restartOne(ctx, store, n, *rf); });
    });
}

}  // namespace mydock::cli
