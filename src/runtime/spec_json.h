// A resolved ContainerSpec kept beside the container's record ($dir/spec.json), so that
// `start` and `restart` run the container again exactly as `run` resolved it (same layers,
// same upper dir, same flags) without the image store or the CLI's flags.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/spec.h"

namespace mydock::runtime {

// Bumped when a field changes meaning; a file of another version is refused (not guessed at).
inline constexpr int kSpecJsonVersion = 1;

nlohmann::json specToJson(const ContainerSpec& spec);
// Throws mydock::Error (125) on a malformed spec or an unknown version.
ContainerSpec specFromJson(const nlohmann::json& j);

// $containerDir/spec.json, written atomically (fsync'd when `durable`).
void saveSpec(const ContainerSpec& spec, bool durable);
// nullopt when the container has none (made before specs were kept); throws when malformed.
std::optional<ContainerSpec> loadSpec(const std::string& containerDir);

}  // namespace mydock::runtime
