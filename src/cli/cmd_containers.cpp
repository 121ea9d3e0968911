// mydock ps [-a] [-q] [--no-trunc] and mydock rm [-f] C...: the container records that `run`
// keeps (issue 3's minimal record-keeping; issue 5 adds the rest of the container verbs).
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>

#include "cli/context.h"
#include "cli/each_name.h"
#include "cli/image_format.h"
#include "cli/inspect_hooks.h"
#include "cli/launch.h"
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

std::size_t runeCount(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

// docker's stringutils.Ellipsis: at most `max` runes, the last one "…" when cut.
std::string ellipsis(const std::string& s, std::size_t max) {
    if (runeCount(s) <= max) return s;
    std::string out;
    std::size_t runes = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if ((c & 0xC0) != 0x80 && runes++ == max - 1) break;
        out += s[i];
    }
    return out + "\u2026";
}

// Go's strconv.Quote for the printable text docker shows.
std::string goQuote(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7f) {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", c);
            out += b;
        } else out += static_cast<char>(c);
    }
    return out + "\"";
}

// Go's tabwriter as docker's CLI sets it up (minwidth 10, padding 3), counting runes.
std::string table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width;
    for (const auto& r : rows)
        for (std::size_t i = 0; i + 1 < r.size(); ++i) {
            if (width.size() <= i) width.resize(i + 1, 0);
            width[i] = std::max(width[i], runeCount(r[i]));
        }
    std::string out;
    for (const auto& r : rows) {
        for (std::size_t i = 0; i < r.size(); ++i) {
            out += r[i];
            if (i + 1 < r.size()) out.append(std::max<std::size_t>(width[i] + 3, 10) - runeCount(r[i]), ' ');
        }
        out += '\n';
    }
    return out;
}

std::int64_t ago(const std::string& rfc3339) {
    std::int64_t t = parseRfc3339(rfc3339);
    return t ? static_cast<std::int64_t>(::time(nullptr)) - t : 0;
}

std::string status(const runtime::ContainerRecord& r) {
    if (r.state == "running") return "Up " + humanDuration(ago(r.startedAt));
    // A restart policy's wait between runs: the last exit code, and since when.
    if (r.state == "restarting")
        return "Restarting (" + std::to_string(r.exitCode) + ") " + humanDuration(ago(r.finishedAt)) + " ago";
    if (r.state == "exited") {
        const std::string& when = r.finishedAt.empty() ? r.created : r.finishedAt;
        return "Exited (" + std::to_string(r.exitCode) + ") " + humanDuration(ago(when)) + " ago";
    }
    return "Created";
}

// docker's list: the path, then the args, those with a space in single quotes.
std::string commandLine(const runtime::ContainerRecord& r) {
    std::string s;
    for (std::size_t i = 0; i < r.command.size(); ++i) {
        const std::string& a = r.command[i];
        if (i) s += ' ';
        s += (i && a.find(' ') != std::string::npos) ? "'" + a + "'" : a;
    }
    return s;
}

struct PsFlags {
    bool all = false, quiet = false, noTrunc = false;
    std::vector<std::string> filters;   // status=running|exited|created, name=, id=
};

// docker's -f KEY=VALUE: the same key ORs, different keys AND. A status filter implies -a.
bool matches(const runtime::ContainerRecord& r, const std::vector<std::string>& filters) {
    std::map<std::string, std::vector<std::string>> by;
    for (const auto& f : filters) {
        auto eq = f.find('=');
        if (eq == std::string::npos) throw Error("invalid filter '" + f + "'");
        by[f.substr(0, eq)].push_back(f.substr(eq + 1));
    }
    for (const auto& [key, values] : by) {
        bool any = false;
        for (const auto& v : values) {
            if (key == "status") any |= r.state == v;
            else if (key == "name") any |= r.name.find(v) != std::string::npos;
            else if (key == "id") any |= r.id.rfind(v, 0) == 0;
            else throw Error("invalid filter '" + key + "'");
        }
        if (!any) return false;
    }
    return true;
}

void ps(Context& ctx, const PsFlags& f) {
    runtime::ContainerStore store(ctx.root);
    std::vector<std::vector<std::string>> rows;
    if (!f.quiet) rows.push_back({"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"});
    std::string out;
    for (const auto& r : store.list()) {
        bool statusFilter = std::any_of(f.filters.begin(), f.filters.end(), [](const std::string& x) { return x.rfind("status=", 0) == 0; });
        if (!f.all && !statusFilter && r.state != "running" && r.state != "restarting") continue;
        if (!matches(r, f.filters)) continue;
        std::string id = f.noTrunc ? r.id : r.id.substr(0, 12);
        if (f.quiet) {
            out += id + "\n";
            continue;
        }
        std::string cmd = commandLine(r);
        rows.push_back({id, r.image, goQuote(f.noTrunc ? cmd : ellipsis(cmd, 20)),
                        humanDuration(ago(r.created)) + " ago", status(r),
                        runtime::net::portsColumn(r.extra.value("NetworkSettings", nlohmann::json())), r.name});
    }
    if (!f.quiet) out = table(rows);
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
    image::ImageStore(ctx.root).dropHold(rec->id);
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
