// docker's way with verbs that take several containers (rm, stop, kill, start, restart): each
// name is tried, printed when it worked, reported when it failed; the verb fails at the end
// (exit 1). Also the lookup and the error wording those verbs share.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "cli/context.h"
#include "common/error.h"
#include "runtime/container_store.h"

namespace mydock::cli {

// docker prints daemon-side refusals this way, and the verb exits 1.
inline void daemonError(Context& ctx, const std::string& msg) {
    std::fflush(stdout);
    std::fprintf(stderr, "Error response from daemon: %s\n", msg.c_str());
    ctx.exitCode = 1;
}

// The record of `ref` (a name, an id or a unique id prefix); docker's "No such container"
// (exit 1) when there is none.
inline runtime::ContainerRecord findContainer(const runtime::ContainerStore& store, const std::string& ref) {
    auto rec = store.find(ref);
    if (!rec) throw Error("No such container: " + ref, 1);
    return *rec;
}

// Runs `fn(name)` for each name; returns the names that failed (each already reported).
template <class Fn>
std::vector<std::string> eachName(Context& ctx, const std::vector<std::string>& names, Fn fn) {
    std::vector<std::string> failed;
    for (const auto& n : names) {
        try {
            fn(n);
            std::printf("%s\n", n.c_str());
            std::fflush(stdout);
        } catch (const Error& e) {
            daemonError(ctx, e.what());
            failed.push_back(n);
        }
    }
    return failed;
}

}  // namespace mydock::cli
