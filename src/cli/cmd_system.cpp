// mydock system check [--repair] | prune [-a] [-f] | df, mydock image prune, mydock info
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "cli/context.h"
#include "cli/image_format.h"
#include "cli/image_verbs.h"
#include "cli/ps_format.h"
#include "common/error.h"
#include "common/fs.h"
#include "image/image_store.h"
#include "runtime/container_store.h"
#include "runtime/net_bridge.h"

namespace mydock::cli {

namespace {

struct PruneFlags {
    bool all = false, force = false;
};

// docker's confirmation prompt; false when the answer is not y/Y (or stdin is closed).
bool confirm(const std::string& warning) {
    std::cout << warning << "\nAre you sure you want to continue? [y/N] " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer)) return false;
    return answer == "y" || answer == "Y";
}

void runPrune(Context& ctx, const PruneFlags& f, bool systemWide) {
    if (!f.force) {
        std::string w;
        if (systemWide)
            w = std::string("WARNING! This will remove:\n") +
                "  - all networks not used by at least one container\n" +
                (f.all ? "  - all images without at least one container associated to them\n" : "  - all dangling images\n");
        else
            w = f.all ? "WARNING! This will remove all images without at least one container associated to them."
                      : "WARNING! This will remove all dangling images.";
        if (!confirm(w)) return;
    }
    // docker's order: networks before images. The bridge and its nft table stay after the
    // last container (issue 6: cheap runs); with no container on it, they go here.
    if (systemWide) {
        std::string bridge = runtime::net::pruneNetwork(ctx.root);
        if (!bridge.empty()) std::cout << "Deleted Networks:\n" << bridge << "\n\n";
    }
    image::ImageStore store(ctx.root);
    std::int64_t reclaimed = 0;
    auto recs = store.prune(f.all, &reclaimed);
    if (!recs.empty()) {
        std::cout << "Deleted Images:\n";
        for (const auto& r : recs)
            std::cout << (r.kind == image::DeleteRecord::Untagged ? "untagged: " : "deleted: ") << r.what << "\n";
        std::cout << "\n";
    }
    std::cout << "Total reclaimed space: " << humanSize(static_cast<double>(reclaimed)) << "\n";
}

void runCheck(Context& ctx, bool repair) {
    image::ImageStore store(ctx.root);
    auto findings = store.check(repair);
    int left = 0;
    for (const auto& f : findings) {
        std::cout << (f.repaired ? "repaired: " : "problem: ") << f.problem << "\n";
        if (!f.repaired) ++left;
    }
    auto images = store.list();
    if (findings.empty()) std::cout << "ok: " << images.size() << " images, no problems found\n";
    else if (left == 0) std::cout << findings.size() << " problems found, all repaired\n";
    else
        std::cout << left << " problem" << (left == 1 ? "" : "s") << " left"
                  << (repair ? "" : " (run 'mydock system check --repair')") << "\n";
    if (left) ctx.exitCode = 1;
}

struct DfFlags {
    bool verbose = false;
    std::string format;
};

// docker's "SIZE (PCT%)" of a RECLAIMABLE cell.
std::string reclaimable(std::int64_t part, std::int64_t total) {
    std::string s = humanSize(static_cast<double>(part), 4);
    return total > 0 ? s + " (" + std::to_string(part * 100 / total) + "%)" : s;
}

std::string str(std::int64_t n) { return std::to_string(n); }

// docker system df: images (layers stored once, reclaimable = not used by any container),
// containers (their writable layers; reclaimable = those not running), no volumes, no build
// cache. -v lists each image and container as docker's verbose tables do.
void runDf(Context& ctx, const DfFlags& f) {
    if (f.verbose && !f.format.empty() && f.format != "table")
        throw Error("--format is not supported with --verbose");
    image::ImageStore store(ctx.root);
    runtime::ContainerStore containers(ctx.root);
    auto images = store.list();
    auto records = containers.list();

    std::map<std::string, int> users;   // image id -> containers (any state), from the records
    for (const auto& r : records) ++users[r.imageId];
    std::map<std::string, int> layerUsers;   // diffId -> images listing it
    for (const auto& img : images)
        for (const auto& l : img.layers) ++layerUsers[l.diffId.str()];

    std::set<std::string> seen, activeLayers;
    std::int64_t imgTotal = 0, imgActive = 0;
    for (const auto& img : images) {
        bool used = users.count(img.id.str()) || !store.holdersOf(img.id).empty();
        if (used) ++imgActive;
        for (const auto& l : img.layers) {
            if (seen.insert(l.diffId.str()).second) imgTotal += l.size;
            if (used) activeLayers.insert(l.diffId.str());
        }
    }
    std::int64_t imgUsed = 0;
    for (const auto& img : images)
        for (const auto& l : img.layers)
            if (activeLayers.erase(l.diffId.str())) imgUsed += l.size;

    std::vector<std::int64_t> rw(records.size());
    std::int64_t ctTotal = 0, ctActive = 0, ctReclaim = 0;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const auto& r = records[i];
        rw[i] = dirUsage(fs::join(containers.containerDir(r.id), "upper"));
        ctTotal += rw[i];
        bool active = r.state == "running" || r.state == "paused" || r.state == "restarting";
        if (active) ++ctActive;
        else ctReclaim += rw[i];
    }

    if (!f.verbose) {
        auto row = [](const char* type, std::size_t total, std::int64_t active, std::int64_t size, std::string recl) {
            nlohmann::ordered_json j;
            j["Active"] = str(active);
            j["Reclaimable"] = std::move(recl);
            j["Size"] = humanSize(static_cast<double>(size), 4);
            j["TotalCount"] = str(static_cast<std::int64_t>(total));
            j["Type"] = type;
            return j;
        };
        std::vector<nlohmann::ordered_json> rows = {
            row("Images", images.size(), imgActive, imgTotal, reclaimable(imgTotal - imgUsed, imgTotal)),
            row("Containers", records.size(), ctActive, ctTotal, reclaimable(ctReclaim, ctTotal)),
            row("Local Volumes", 0, 0, 0, reclaimable(0, 0)),
            row("Build Cache", 0, 0, 0, humanSize(0, 4))};
        nlohmann::ordered_json header = {{"Active", "ACTIVE"}, {"Reclaimable", "RECLAIMABLE"}, {"Size", "SIZE"},
                                         {"TotalCount", "TOTAL"}, {"Type", "TYPE"}};
        std::cout << formatList(f.format, "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
                                header, rows);
        return;
    }

    // Images: newest first, the first tag of each, sizes shared with other images apart.
    std::stable_sort(images.begin(), images.end(), [](const image::Image& a, const image::Image& b) {
        return parseRfc3339(a.config.created) > parseRfc3339(b.config.created);
    });
    std::string out = "Images space usage:\n\n";
    std::string t = "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS\n";
    for (const auto& img : images) {
        std::string repo = "<none>", tag = "<none>";
        if (!img.repoTags.empty()) {
            const std::string& rt = img.repoTags.front();
            auto colon = rt.rfind(':');
            if (colon != std::string::npos && rt.find('/', colon) == std::string::npos)
                repo = rt.substr(0, colon), tag = rt.substr(colon + 1);
        }
        std::int64_t shared = 0;
        for (const auto& l : img.layers)
            if (layerUsers[l.diffId.str()] > 1) shared += l.size;
        std::int64_t created = parseRfc3339(img.config.created);
        std::string since = created ? humanDuration(static_cast<std::int64_t>(::time(nullptr)) - created) + " ago" : "N/A";
        t += repo + "\t" + tag + "\t" + img.id.hex().substr(0, 12) + "\t" + since + "\t" +
             humanSize(static_cast<double>(img.size)) + "\t" + humanSize(static_cast<double>(shared), 4) + "\t" +
             humanSize(static_cast<double>(img.size - shared), 4) + "\t" + str(users[img.id.str()]) + "\n";
    }
    out += goTabwrite(t);

    out += "\nContainers space usage:\n\n";
    std::vector<nlohmann::ordered_json> rows;
    for (std::size_t i = 0; i < records.size(); ++i) {
        PsSizes sz{rw[i], 0};   // docker leaves the virtual size out here
        rows.push_back(psRow(records[i], true, &sz));
    }
    out += formatList("", "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
                      psHeader(), rows);
    out += "\nLocal Volumes space usage:\n\n" + goTabwrite("VOLUME NAME\tLINKS\tSIZE\n");
    out += "\nBuild cache usage: 0B\n\n" + goTabwrite("CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED\n");
    std::cout << out;
}

}  // namespace

void setupImagePrune(CLI::App* sub, Context& ctx) {
    auto f = std::make_shared<PruneFlags>();
    sub->add_flag("-a,--all", f->all, "Remove all unused images, not just dangling ones");
    sub->add_flag("-f,--force", f->force, "Do not prompt for confirmation");
    sub->callback([f, &ctx] { runPrune(ctx, *f, false); });
}

void registerSystem(CLI::App& app, Context& ctx) {
    auto* sys = app.add_subcommand("system", "Manage mydock");
    sys->require_subcommand(1);

    auto repair = std::make_shared<bool>(false);
    auto* check = sys->add_subcommand("check", "Verify the store's invariants (and repair with --repair)");
    check->add_flag("--repair", *repair, "Fix what can be fixed (remove garbage, drop broken entries)");
    check->callback([repair, &ctx] { runCheck(ctx, *repair); });

    auto pf = std::make_shared<PruneFlags>();
    auto* prune = sys->add_subcommand("prune", "Remove unused data");
    prune->add_flag("-a,--all", pf->all, "Remove all unused images not just dangling ones");
    prune->add_flag("-f,--force", pf->force, "Do not prompt for confirmation");
    prune->callback([pf, &ctx] { runPrune(ctx, *pf, true); });

    auto df = std::make_shared<DfFlags>();
    auto* dfCmd = sys->add_subcommand("df", "Show mydock disk usage");
    dfCmd->add_flag("-v,--verbose", df->verbose, "Show detailed information on space usage");
    dfCmd->add_option("--format", df->format, "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template");
    dfCmd->callback([df, &ctx] { runDf(ctx, *df); });

    auto* info = app.add_subcommand("info", "Display system-wide information");
    info->callback([&ctx] {
        image::ImageStore store(ctx.root);
        std::cout << "Server:\n"
                  << " Images: " << store.list().size() << "\n"
                  << " Storage Driver: overlay\n"
                  << " Mydock Root Dir: " << ctx.root << "\n";
        if (!ctx.config.registryMirrors.empty()) {
            std::cout << " Registry Mirrors:\n";
            for (const auto& m : ctx.config.registryMirrors) std::cout << "  " << m << "\n";
        }
        if (!ctx.config.insecureRegistries.empty()) {
            std::cout << " Insecure Registries:\n";
            for (const auto& m : ctx.config.insecureRegistries) std::cout << "  " << m << "\n";
        }
    });
}

}  // namespace mydock::cli
