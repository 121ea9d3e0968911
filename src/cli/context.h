// What every verb gets: the resolved state root, the daemon-less "daemon config"
// ($ROOT/config.json or /etc/mydock/config.json) and the process-wide settings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace mydock::cli {

struct EngineConfig {
    std::vector<std::string> registryMirrors;
    std::vector<std::string> insecureRegistries;
    // Bounds on one layer's unpacked tar ("max-layer-size": bytes or "10g"; "max-layer-entries").
    // 0 = the unpacker's default (image::UnpackLimits).
    std::uint64_t maxLayerSize = 0;
    std::uint64_t maxLayerEntries = 0;
};

struct Context {
    std::string rootFlag;      // --root as given (empty: not given)
    std::string logLevel = "warn";
    std::string root;          // resolved after parsing: --root, $MYDOCK_ROOT, /var/lib/mydock
    EngineConfig config;       // loaded after parsing
    int exitCode = 0;          // a verb sets it when it wants a status other than 0

    // Resolves root and loads the config file; called once before a verb runs.
    void finalise();
};

// One registration function per verb file (cmd_*.cpp). Each adds its subcommand to `app`
// and sets a callback that does the work; errors are thrown as mydock::Error.
void registerPull(CLI::App& app, Context& ctx);
void registerImages(CLI::App& app, Context& ctx);
void registerRmi(CLI::App& app, Context& ctx);
void registerTag(CLI::App& app, Context& ctx);
void registerInspect(CLI::App& app, Context& ctx);
void registerLogin(CLI::App& app, Context& ctx);   // login and logout
void registerRun(CLI::App& app, Context& ctx);
void registerContainers(CLI::App& app, Context& ctx);   // ps, rm
void registerLifecycle(CLI::App& app, Context& ctx);    // logs, stop, kill, wait
void registerStart(CLI::App& app, Context& ctx);        // start, restart
void registerExec(CLI::App& app, Context& ctx);
void registerSystem(CLI::App& app, Context& ctx);  // system check/prune/df, info
void registerVersion(CLI::App& app, Context& ctx);

}  // namespace mydock::cli
