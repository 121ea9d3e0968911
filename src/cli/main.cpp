// mydock: pull, run and manage OCI images and containers, docker's way, with no daemon.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/context.h"
#include "common/error.h"

namespace {

using Registrar = void (*)(CLI::App&, mydock::cli::Context&);

// Every verb file's registration, in the order `mydock --help` lists them.
constexpr Registrar kRegistrars[] = {
    mydock::cli::registerPull,   mydock::cli::registerImages,     mydock::cli::registerRmi,
    mydock::cli::registerTag,    mydock::cli::registerInspect,    mydock::cli::registerLogin,
    mydock::cli::registerRun,    mydock::cli::registerContainers, mydock::cli::registerLifecycle,
    mydock::cli::registerStart,  mydock::cli::registerExec,       mydock::cli::registerSystem,
    mydock::cli::registerVersion,
};

// Which registration defines each verb. Only a shortcut: a verb missing here (or moved to
// another file) still works, through the fallback in registerVerbs(). A verb must not be
// listed when other files' registrations feed it: `inspect` asks the kinds that other verbs'
// files add with addInspectHook() (containers: cmd_containers.cpp), so it registers them all.
struct VerbEntry {
    const char* verb;
    Registrar reg;
};
constexpr VerbEntry kVerbs[] = {
    {"pull", mydock::cli::registerPull},        {"images", mydock::cli::registerImages},
    {"image", mydock::cli::registerImages},     {"rmi", mydock::cli::registerRmi},
    {"tag", mydock::cli::registerTag},
    {"login", mydock::cli::registerLogin},      {"logout", mydock::cli::registerLogin},
    {"run", mydock::cli::registerRun},          {"ps", mydock::cli::registerContainers},
    {"rm", mydock::cli::registerContainers},    {"logs", mydock::cli::registerLifecycle},
    {"stop", mydock::cli::registerLifecycle},   {"kill", mydock::cli::registerLifecycle},
    {"wait", mydock::cli::registerLifecycle},   {"start", mydock::cli::registerStart},
    {"restart", mydock::cli::registerStart},    {"exec", mydock::cli::registerExec},
    {"system", mydock::cli::registerSystem},    {"info", mydock::cli::registerSystem},
    {"version", mydock::cli::registerVersion},
};

// The verb argv names after the global options (--root X, --root=X, -l X, -lX, --log-level X,
// --log-level=X); empty when anything else comes first (--help, an unknown option, "--", no
// verb at all), so that case registers every verb and CLI11 answers exactly as it always did.
std::string_view verbOf(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--root" || a == "-l" || a == "--log-level") {
            ++i;   // its value, whatever it looks like
            continue;
        }
        if (a.rfind("--root=", 0) == 0 || a.rfind("--log-level=", 0) == 0 ||
            (a.size() > 2 && a.rfind("-l", 0) == 0 && a[2] != '-'))
            continue;
        if (a.empty() || a.front() == '-') return {};
        return a;
    }
    return {};
}

// Defines the subcommands: only the file of `verb` when the table knows it (building every
// verb's CLI11 options costs ~0.35 ms a start, which `run` pays for nothing), else all of them.
// A verb that its expected file did not define falls back to all the others, so a stale table
// only costs time; help, errors and unknown verbs see every verb as before.
void registerVerbs(CLI::App& app, mydock::cli::Context& ctx, std::string_view verb) {
    Registrar done = nullptr;
    if (!verb.empty()) {
        for (const auto& v : kVerbs) {
            if (verb != v.verb) continue;
            v.reg(app, ctx);
            done = v.reg;
            const std::string name(verb);
            if (!app.get_subcommands([&](const CLI::App* s) { return s->check_name(name); }).empty()) return;
            break;
        }
    }
    for (Registrar r : kRegistrars)
        if (r != done) r(app, ctx);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace mydock;
    cli::Context ctx;
    CLI::App app{"A self-sufficient runtime for containers, with no daemon", "mydock"};
    app.require_subcommand(1);
    app.add_option("--root", ctx.rootFlag, "State root (default $MYDOCK_ROOT or /var/lib/mydock)");
    app.add_option("-l,--log-level", ctx.logLevel, "Log level (debug, info, warn, error)");
    app.parse_complete_callback([&] { ctx.finalise(); });

    // MYDOCK_CLI_ALL_VERBS (any value): register every verb, for tests that compare the
    // shortcut's help and errors with the full command line's (tests/e2e/cli_verbs.bats).
    registerVerbs(app, ctx, std::getenv("MYDOCK_CLI_ALL_VERBS") ? std::string_view() : verbOf(argc, argv));

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
