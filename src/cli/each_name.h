// docker's way with verbs that take several containers (rm, stop, kill): each name is tried,
// printed when it worked, reported when it failed; the verb fails at the end (exit 1).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "cli/context.h"
#include "common/error.h"

namespace mydock::cli {

template <class Fn>
void eachName(Context& ctx, const std::vector<std::string>& names, Fn fn) {
    for (const auto& n : names) {
        try {
            fn(n);
            std::printf("%s\n", n.c_str());
        } catch (const Error& e) {
            std::fflush(stdout);
            std::fprintf(stderr, "Error response from daemon: %s\n", e.what());
            ctx.exitCode = 1;
        }
    }
}

}  // namespace mydock::cli
