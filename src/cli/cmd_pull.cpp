// mydock pull [-q] [--platform P] [-a] REF
#include <memory>

#include "cli/context.h"
#include "cli/image_verbs.h"
#include "cli/pull_output.h"
#include "common/error.h"

namespace mydock::cli {

namespace {
struct PullFlags {
    std::string ref, platform;
    bool quiet = false, allTags = false;
};
}  // namespace

void setupPull(CLI::App* sub, Context& ctx) {
    auto f = std::make_shared<PullFlags>();
    sub->add_flag("-q,--quiet", f->quiet, "Suppress verbose output");
    sub->add_option("--platform", f->platform, "Set platform if server is multi-platform capable (os/arch[/variant])");
    sub->add_flag("-a,--all-tags", f->allTags, "Download all tagged images in the repository");
    sub->add_option("NAME", f->ref, "NAME[:TAG|@DIGEST]")->required();
    sub->callback([f, &ctx] {
        if (f->allTags) return pullAllTags(ctx, f->ref, f->platform, f->quiet);
        pullImage(ctx, f->ref, f->platform, PullOutputOptions{stdout, f->quiet, true});
    });
}

void registerPull(CLI::App& app, Context& ctx) {
    setupPull(app.add_subcommand("pull", "Download an image from a registry"), ctx);
}

}  // namespace mydock::cli
