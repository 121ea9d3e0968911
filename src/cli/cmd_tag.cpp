// mydock tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]
#include <iostream>
#include <memory>

#include "cli/context.h"
#include "cli/image_verbs.h"
#include "common/error.h"
#include "image/image_store.h"

namespace mydock::cli {

namespace {
struct TagFlags {
    std::string source, target;
};
}  // namespace

void setupTag(CLI::App* sub, Context& ctx) {
    auto f = std::make_shared<TagFlags>();
    sub->add_option("SOURCE_IMAGE", f->source, "SOURCE_IMAGE[:TAG]")->required();
    sub->add_option("TARGET_IMAGE", f->target, "TARGET_IMAGE[:TAG]")->required();
    sub->callback([f, &ctx] {
        image::ImageStore store(ctx.root);
        try {
            store.tag(f->source, f->target);
        } catch (const Error& e) {
            // docker: "Error response from daemon: No such image: x:latest", status 1
            if (e.exitCode() != 1) throw;
            std::cerr << "Error response from daemon: " << e.what() << "\n";
            ctx.exitCode = 1;
        }
    });
}

void registerTag(CLI::App& app, Context& ctx) {
    setupTag(app.add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"), ctx);
}

}  // namespace mydock::cli
