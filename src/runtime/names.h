// Generated container names in docker's style: "adjective_surname" (our own word lists).
#pragma once

#include <functional>
#include <string>

namespace mydock::runtime {

// A random name for which `taken` is false; after many collisions a digit is appended, as
// docker does ("brave_lovelace3").
std::string generateName(const std::function<bool(const std::string&)>& taken);

// docker's rule for --name: [a-zA-Z0-9][a-zA-Z0-9_.-]+
bool validContainerName(const std::string& name);

}  // namespace mydock::runtime
