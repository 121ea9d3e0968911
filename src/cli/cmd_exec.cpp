// mydock exec [-d] [-i] [-t] [-e K=V] [--env-file F] [-u USER[:GROUP]] [-w DIR] [--privileged]
// CONTAINER COMMAND [ARG...]: docker's exec, from the container's record (its PID 1, Config and
// HostConfig) to runtime::execInContainer.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "cli/each_name.h"
#include "common/error.h"
#include "common/fs.h"
#include "runtime/container_store.h"
#include "runtime/exec.h"
#include "runtime/process_config.h"

namespace mydock::cli {

namespace {

struct ExecFlags {
    bool detach = false;
    bool interactive = false;
    bool tty = false;
    bool privileged = false;
    std::vector<std::string> env;
    std::vector<std::string> envFiles;
    std::string user;
    std::string workdir;
};

std::vector<std::string> stringList(const nlohmann::json& obj, const char* key) {
    std::vector<std::string> out;
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_array()) return out;
    for (const auto& v : *it)
        if (v.is_string()) out.push_back(v.get<std::string>());
    return out;
}

std::string stringField(const nlohmann::json& obj, const char* key) {
    auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void execCommand(Context& ctx, const ExecFlags& f, const std::string& ref, const std::vector<std::string>& argv) {
    using namespace runtime;
    ContainerStore containers(ctx.root);
    std::optional<ContainerRecord> found;
    try {
        found = containers.find(ref);
    } catch (const Error& e) {
        return daemonError(ctx, e.what());   // an ambiguous prefix
    }
    if (!found) return daemonError(ctx, "No such container: " + ref);
    const ContainerRecord& rec = *found;
    if (!containers.isRunning(rec) || rec.pid <= 0)
        return daemonError(ctx, "container " + rec.id + " is not running");

    const nlohmann::json config = rec.extra.contains("Config") && rec.extra["Config"].is_object()
                                      ? rec.extra["Config"] : nlohmann::json::object();
    const nlohmann::json host = rec.extra.contains("HostConfig") && rec.extra["HostConfig"].is_object()
                                    ? rec.extra["HostConfig"] : nlohmann::json::object();

    ExecSpec spec;
    spec.pid = rec.pid;
    spec.hostnameFile = fs::join(containers.containerDir(rec.id), "hostname");
    spec.argv = argv;
    std::string hostname = stringField(config, "Hostname");
    if (hostname.empty()) hostname = rec.id.substr(0, 12);
    // docker: the container's env (PATH, HOSTNAME, TERM with -t, then Config.Env), then
    // --env-file and -e entries replacing same-named ones; a bare unset K removes K.
    spec.env = buildEnv(stringList(config, "Env"), userEnv(f.envFiles, f.env), hostname, f.tty);
    if (!f.workdir.empty()) spec.cwd = f.workdir;
    else if (std::string wd = stringField(config, "WorkingDir"); !wd.empty()) spec.cwd = wd;
    spec.user = !f.user.empty() ? f.user : stringField(config, "User");
    spec.terminal = f.tty;
    spec.stdinOpen = f.interactive;
    spec.detach = f.detach;
    spec.security.capAdd = stringList(host, "CapAdd");
    spec.security.capDrop = stringList(host, "CapDrop");
    spec.security.privileged = host.value("Privileged", false);
    for (const auto& o : stringList(host, "SecurityOpt")) spec.security.addSecurityOpt(o);
    spec.privileged = f.privileged;
    spec.seccompCacheDir = fs::join(ctx.root, "cache");

    try {
        ctx.exitCode = execInContainer(spec, [&] { return containers.isRunning(rec); });
    } catch (const ContainerNotRunning&) {
        return daemonError(ctx, "container " + rec.id + " is not running");
    } catch (const Error& e) {
        if (e.exitCode() != kExitCannotInvoke && e.exitCode() != kExitNotFound) throw;
        // The command could not be started: docker prints the runtime's words as they are.
        std::fflush(stdout);
        std::fprintf(stderr, "%s\n", e.what());
        ctx.exitCode = e.exitCode();
    }
}

}  // namespace

void registerExec(CLI::App& app, Context& ctx) {
    auto f = std::make_shared<ExecFlags>();
    CLI::App* sub = app.add_subcommand("exec", "Execute a command in a running container");
    // Everything after CONTAINER is the command, options included (`exec c sh -c 'x'`).
    sub->prefix_command();
    auto multi = [](CLI::Option* o) { o->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll); };
    sub->add_flag("-d,--detach", f->detach, "Detached mode: run command in the background");
    sub->add_flag("-i,--interactive", f->interactive, "Keep STDIN open even if not attached");
    sub->add_flag("-t,--tty", f->tty, "Allocate a pseudo-TTY");
    sub->add_flag("--privileged", f->privileged, "Give extended privileges to the command");
    multi(sub->add_option("-e,--env", f->env, "Set environment variables"));
    multi(sub->add_option("--env-file", f->envFiles, "Read in a file of environment variables"));
    sub->add_option("-u,--user", f->user, "Username or UID (format: <name|uid>[:<group|gid>])");
    sub->add_option("-w,--workdir", f->workdir, "Working directory inside the container");
    sub->footer("Usage: mydock exec [OPTIONS] CONTAINER COMMAND [ARG...]");
    sub->callback([f, sub, &ctx] {
        std::vector<std::string> rest = sub->remaining();
        if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
        if (!rest.empty() && rest.front().size() > 1 && rest.front()[0] == '-')
            throw Error("unknown flag: " + rest.front());
        if (rest.size() < 2) {
            std::fprintf(stderr, "\"mydock exec\" requires at least 2 arguments.\nSee 'mydock exec --help'.\n");
            ctx.exitCode = 1;
            return;
        }
        if (f->tty && f->interactive && !f->detach && !::isatty(0)) {
            std::fprintf(stderr, "the input device is not a TTY\n");
            ctx.exitCode = 1;
            return;
        }
        std::string ref = rest.front();
        rest.erase(rest.begin());
        execCommand(ctx, *f, ref, rest);
    });
}

}  // namespace mydock::cli
