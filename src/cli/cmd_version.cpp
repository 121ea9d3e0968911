#include <cstdio>

#include "cli/context.h"

namespace mydock::cli {

void registerVersion(CLI::App& app, Context&) {
    auto* sub = app.add_subcommand("version", "Show the mydock version information");
    sub->callback([] { std::printf("mydock version %s\n", "0.1.0"); });
}

}  // namespace mydock::cli
