// The image verbs' option setup, so that each is reachable both as `mydock VERB` and as
// `mydock image SUBVERB` (docker's management command), from one definition.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "cli/context.h"

namespace mydock::cli {

void setupPull(CLI::App* sub, Context& ctx);
void setupImages(CLI::App* sub, Context& ctx);         // images / image ls
void setupRmi(CLI::App* sub, Context& ctx);            // rmi / image rm
void setupTag(CLI::App* sub, Context& ctx);
void setupImageInspect(CLI::App* sub, Context& ctx);   // image inspect (images only)
void setupImagePrune(CLI::App* sub, Context& ctx);

// docker's image inspect document for one image, or null when `name` names none.
nlohmann::ordered_json inspectImage(Context& ctx, const std::string& name);

}  // namespace mydock::cli
