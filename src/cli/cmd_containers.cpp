// mydock ps [-a] [-q] [--no-trunc] [-n N] [-l] [-s] [-f KEY=VALUE] [--format F] and mydock rm [-f] C...:
// the container records that `run` keeps (filters: ps_filter.h; output: ps_format.h).
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "cli/context.h"
#include "cli/each_name.h"
#include "cli/image_format.h"
#include "cli/inspect_hooks.h"
#include "cli/launch.h"
#include "cli/ps_filter.h"
#include "cli/ps_format.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "image/image_store.h"
#include "runtime/cgroup.h"
#include "runtime/container_store.h"
#include "runtime/net_bridge.h"
#include "runtime/net_inspect.h"

namespace mydock::cli {

namespace {

struct PsFlags {
    bool all = false, quiet = false, noTrunc = false, latest = false, size = false;
    int last = -1;
    std::string format;
    std::vector<std::string> filters;
};

void ps(Context& ctx, const PsFlags& f) {
    // Bad filters fail before anything is read, as docker's daemon validates them first.
    PsFilters filters = PsFilters::parse(f.filters);
    bool custom = !f.format.empty() && f.format != "table";
    if (!f.format.empty() && f.quiet)
        std::cerr << "WARNING: Ignoring custom format, because both --format and --quiet are set.\n";
    // docker executes the template once before listing: a bad field fails with no container too.
    if (custom) formatList(f.format, kPsTableFormat, psHeader(), {psHeader()});
    // docker asks for sizes when the template uses .Size (which {{json .}} does).
    bool sizes = f.size || (custom && !f.quiet &&
                            (f.format.find(".Size") != std::string::npos || f.format.find("{{json .}}") != std::string::npos ||
                             f.format == "json" || f.format.find("json .") != std::string::npos));

    runtime::ContainerStore store(ctx.root);
    auto records = store.list();   // newest first
    std::vector<PsItem> items;
    items.reserve(records.size());
    for (const auto& r : records) items.push_back(psItem(r));

    // The image store only when a flag needs it (its constructor sweeps leftovers).
    std::set<std::string> ancestorIds;
    std::map<std::string, std::int64_t> imageSize;
    if (filters.has("ancestor") || sizes) {
        image::ImageStore images(ctx.root);
        // docker's daemon only logs an image it cannot find (or parse): that value matches nothing.
        for (const auto& a : filters.values("ancestor")) {
            try {
                if (auto img = images.find(a)) ancestorIds.insert(img->id.str());
            } catch (const Error&) {
            }
        }
        if (sizes)
            for (const auto& img : images.list()) imageSize[img.id.str()] = img.size;
    }

    PsSelection sel;
    sel.all = f.all;
    sel.last = f.latest && f.last == -1 ? 1 : f.last;
    std::vector<std::size_t> shown = selectContainers(items, filters, sel, ancestorIds);

    std::string out;
    if (f.quiet) {
        for (std::size_t i : shown) out += (f.noTrunc ? records[i].id : records[i].id.substr(0, 12)) + "\n";
    } else {
        std::vector<nlohmann::ordered_json> rows;
        for (std::size_t i : shown) {
            const auto& r = records[i];
            PsSizes sz;
            if (sizes) {
                sz.rw = dirUsage(fs::join(store.containerDir(r.id), "upper"));
                auto it = imageSize.find(r.imageId);
                if (it != imageSize.end()) sz.rootFs = sz.rw + it->second;
            }
            rows.push_back(psRow(r, !f.noTrunc, sizes ? &sz : nullptr));
        }
        std::string table = kPsTableFormat;
        if (f.size) table += "\t{{.Size}}";
        out = formatList(custom ? f.format : "", table, psHeader(), rows);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
}

struct RmFlags {
    bool force = false, volumes = false;
    std::vector<std::string> names;
};

void rmOne(Context& ctx, runtime::ContainerStore& store, const std::string& ref, bool force) {
    auto rec = store.find(ref);
    if (!rec) throw Error("No such container: " + ref, 1);
    // A restart loop between two runs (its monitor alive, no process): rm -f ends it first.
    if (rec->state == "restarting" && monitorAlive(store, rec->id)) {
        if (!force)
            throw Error("cannot remove container \"/" + rec->name +
                            "\": container is restarting: stop the container before removing or force remove",
                        1);
        stopContainer(store, rec->id, SIGKILL, 0);
    }
    if (store.isRunning(*rec)) {
        if (!force)
            throw Error("cannot remove container \"/" + rec->name +
                            "\": container is running: stop the container before removing or force remove",
                        1);
        // The container's first process dies, its namespace with it, and the mydock that
        // runs it records the exit and lets go of running.lock (marked first: no restart).
        markUserStopped(store, rec->id);
        if (rec->pid > 0) ::kill(rec->pid, SIGKILL);
        std::string lock = fs::join(store.containerDir(rec->id), "running.lock");
        for (int i = 0; i < 100 && !FileLock::tryLock(lock, FileLock::Mode::Exclusive); ++i) ::usleep(100 * 1000);
    }
    // The hold goes first: a hold never outlives its container's record.
    image::ImageStore::releaseHold(ctx.root, rec->id);
    store.remove(rec->id);
    // A container whose monitor was killed left its (empty) cgroup behind: collected here too.
    runtime::cleanupStaleCgroups();
    // Its lease, veth and rules (when its monitor could not remove them), and the bridge and
    // the nft table with the last container.
    try {
        runtime::net::forgetContainer(ctx.root, rec->id);
    } catch (const std::exception& e) {
        log::warn(std::string("network cleanup for ") + rec->id.substr(0, 12) + ": " + e.what());
    }
}

void rm(Context& ctx, const RmFlags& f) {
    runtime::ContainerStore store(ctx.root);
    eachName(ctx, f.names, [&](const std::string& n) { rmOne(ctx, store, n, f.force); });
}

}  // namespace

void registerContainers(CLI::App& app, Context& ctx) {
    auto pf = std::make_shared<PsFlags>();
    CLI::App* psCmd = app.add_subcommand("ps", "List containers");
    psCmd->add_flag("-a,--all", pf->all, "Show all containers (default shows just running)");
    psCmd->add_flag("-q,--quiet", pf->quiet, "Only display container IDs");
    psCmd->add_flag("--no-trunc", pf->noTrunc, "Don't truncate output");
    psCmd->add_flag("-l,--latest", pf->latest, "Show the latest created container (includes all states)");
    psCmd->add_option("-n,--last", pf->last, "Show n last created containers (includes all states)");
    psCmd->add_flag("-s,--size", pf->size, "Display total file sizes");
    psCmd->add_option("--format", pf->format,
                      "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template");
    psCmd->add_option("-f,--filter", pf->filters, "Filter output based on conditions provided")->allow_extra_args(false);
    psCmd->callback([pf, &ctx] { ps(ctx, *pf); });

    auto rf = std::make_shared<RmFlags>();
    CLI::App* rmCmd = app.add_subcommand("rm", "Remove one or more containers");
    rmCmd->add_flag("-f,--force", rf->force, "Force the removal of a running container (uses SIGKILL)");
    rmCmd->add_flag("-v,--volumes", rf->volumes, "Remove anonymous volumes associated with the container");
    rmCmd->add_option("CONTAINER", rf->names, "Containers to remove")->required();
    rmCmd->callback([rf, &ctx] { rm(ctx, *rf); });

    // `mydock inspect C` (containers are asked before images, as docker does).
    addInspectHook("container", [&ctx](const std::string& name) -> nlohmann::ordered_json {
        runtime::ContainerStore store(ctx.root);
        auto rec = store.find(name);
        if (!rec) return nullptr;
        nlohmann::json j = runtime::recordToJson(*rec);
        j["Name"] = "/" + rec->name;
        return nlohmann::ordered_json::parse(j.dump());
    });
}

}  // namespace mydock::cli
