// mydock system check [--repair] | prune [-a] [-f] | df, mydock image prune, mydock info
#include <unistd.h>

#include <iostream>
#include <memory>
#include <set>
#include <string>

#include "cli/context.h"
#include "cli/image_format.h"
#include "cli/image_verbs.h"
#include "common/error.h"
#include "image/image_store.h"
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

void runDf(Context& ctx) {
    image::ImageStore store(ctx.root);
    auto images = store.list();
    std::set<Digest> seen;
    std::int64_t total = 0, active = 0, activeSize = 0;
    for (const auto& img : images) {
        bool held = !store.holdersOf(img.id).empty();
        if (held) ++active;
        for (const auto& l : img.layers) {
            if (!seen.insert(l.diffId).second) continue;
            total += l.size;
            if (held) activeSize += l.size;
        }
    }
    std::int64_t reclaim = total - activeSize;
    std::string pct = total > 0 ? " (" + std::to_string(reclaim * 100 / total) + "%)" : "";
    std::cout << tabwrite({{"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"},
                           {"Images", std::to_string(images.size()), std::to_string(active),
                            humanSize(static_cast<double>(total), 4), humanSize(static_cast<double>(reclaim), 4) + pct}});
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

    sys->add_subcommand("df", "Show mydock disk usage")->callback([&ctx] { runDf(ctx); });

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
