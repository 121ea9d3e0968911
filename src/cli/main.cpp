// mydock: pull, run and manage OCI images and containers, docker's way, with no daemon.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/context.h"
#include "common/error.h"

int main(int argc, char** argv) {
    using namespace mydock;
    cli::Context ctx;
    CLI::App app{"A self-sufficient runtime for containers, with no daemon", "mydock"};
    app.require_subcommand(1);
    app.add_option("--root", ctx.rootFlag, "State root (default $MYDOCK_ROOT or /var/lib/mydock)");
    app.add_option("-l,--log-level", ctx.logLevel, "Log level (debug, info, warn, error)");
    app.parse_complete_callback([&] { ctx.finalise(); });

    cli::registerPull(app, ctx);
    cli::registerImages(app, ctx);
    cli::registerRmi(app, ctx);
    cli::registerTag(app, ctx);
    cli::registerInspect(app, ctx);
    cli::registerLogin(app, ctx);
    cli::registerRun(app, ctx);
    cli::registerContainers(app, ctx);
    cli::registerLifecycle(app, ctx);
    cli::registerStart(app, ctx);
    cli::registerExec(app, ctx);
    cli::registerSystem(app, ctx);
    cli::registerVersion(app, ctx);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);
        std::cerr << "mydock: " << e.what() << "\nSee 'mydock --help'.\n";
        return kExitEngineError;
    } catch (const Error& e) {
        std::cerr << "Error: " << e.what() << "\n";
        return e.exitCode();
    } catch (const std::exception& e) {
        std::cerr << "Error: " << e.what() << "\n";
        return kExitEngineError;
    }
    std::fflush(stdout);
    return ctx.exitCode;
}
