// `mydock inspect NAME...` asks each registered kind of object in turn (containers first,
// then images, as docker does). Another verb's author adds a kind with addInspectHook()
// from its register function, e.g. containers:
//     addInspectHook("container", [&ctx](const std::string& n) { return ...json or null...; });
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace mydock::cli {

// Returns the object's docker-style inspect document, or a null json when `name` is not one.
using InspectHook = std::function<nlohmann::ordered_json(const std::string& name)>;

struct InspectKind {
    std::string type;    // "container", "image" (what --type selects)
    InspectHook hook;
};

std::vector<InspectKind>& inspectKinds();
// Kinds added here are asked before images.
void addInspectHook(const std::string& type, InspectHook hook);

}  // namespace mydock::cli
