// The pieces of docker's reference grammar, for code that must check a name, a tag or a
// registry host on its own (the client re-checks what goes into a URL; `tag` checks its target).
#pragma once

#include <string_view>

namespace mydock::registry {

bool validDomain(std::string_view hostPort);        // host[:port], host may be [IPv6]
bool validPathComponent(std::string_view component); // [a-z0-9]+ with docker's separators
bool validRepositoryPath(std::string_view path);     // components joined by '/'
bool validTag(std::string_view tag);                 // [\w][\w.-]{0,127}

}  // namespace mydock::registry
