// mydock rmi [-f] [--no-prune] IMAGE...
#include <iostream>
#include <memory>
#include <vector>

#include "cli/context.h"
#include "cli/image_verbs.h"
#include "common/error.h"
#include "image/image_store.h"

namespace mydock::cli {

namespace {
struct RmiFlags {
    bool force = false, noPrune = false;
    std::vector<std::string> images;
};
}  // namespace

void setupRmi(CLI::App* sub, Context& ctx) {
    auto f = std::make_shared<RmiFlags>();
    sub->add_flag("-f,--force", f->force, "Force removal of the image");
    sub->add_flag("--no-prune", f->noPrune, "Do not delete untagged parents");
    sub->add_option("IMAGE", f->images, "Images to remove")->required();
    sub->callback([f, &ctx] {
        image::ImageStore store(ctx.root);
        // As docker: every image is tried; errors are listed after, and the status is 1.
        std::vector<std::string> errors;
        int status = 0;
        for (const auto& name : f->images) {
            try {
                for (const auto& r : store.remove(name, f->force, !f->noPrune))
                    std::cout << (r.kind == image::DeleteRecord::Untagged ? "Untagged: " : "Deleted: ") << r.what << "\n";
            } catch (const Error& e) {
                errors.push_back(e.what());
                status = std::max(status, e.exitCode() == 1 ? 1 : e.exitCode());
            }
        }
        std::cout.flush();
        for (const auto& e : errors) std::cerr << "Error response from daemon: " << e << "\n";
        ctx.exitCode = status;
    });
}

void registerRmi(CLI::App& app, Context& ctx) {
    setupRmi(app.add_subcommand("rmi", "Remove one or more images"), ctx);
}

}  // namespace mydock::cli
