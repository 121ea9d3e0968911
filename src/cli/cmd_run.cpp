// mydock run [OPTIONS] IMAGE [COMMAND [ARG...]]: image lookup (pulling when missing), the
// image config merged with the flags into a ContainerSpec, the container record, the run.
#include <unistd.h>

#include <cctype>
#include <climits>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/context.h"
#include "cli/launch.h"
#include "cli/pull_output.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "image/image_store.h"
#include "registry/reference.h"
#include "runtime/container.h"
#include "runtime/container_store.h"
#include "runtime/monitor.h"
#include "runtime/net_inspect.h"
#include "runtime/process_config.h"
#include "runtime/run_flags.h"
#include "runtime/security.h"
#include "runtime/spec.h"
#include "runtime/spec_json.h"

namespace mydock::cli {

namespace {

struct RunFlags {
    bool rm = false, detach = false, interactive = false, tty = false, readOnly = false;
    bool privileged = false, init = false, quiet = false;
    std::string name, workdir, user, entrypoint, hostname, network = "bridge", memory, cpus, platform;
    std::string pull = "missing";
    std::string restart = "no";
    std::vector<std::string> attach;   // -a: stdin, stdout, stderr (any case)
    long long pidsLimit = 0;
    std::vector<std::string> env, envFiles, volumes, tmpfs, publish, capAdd, capDrop, securityOpts;
    std::string image;
};

std::string familiarName(const std::string& ref) {
    try {
        return registry::Reference::parse(ref).familiar();
    } catch (...) {
        return ref;
    }
}

std::string initBinary() {
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return {};
    std::string path = fs::join(fs::dirname(std::string(buf, static_cast<std::size_t>(n))), "mydock-init");
    return fs::exists(path) ? path : std::string();
}

// docker's default when neither -i nor -t: a terminal user typing `run img sh` gets a shell
// (cli.md): stdin and stdout are terminals and we are in the foreground.
bool interactiveTerminal() {
    return ::isatty(0) && ::isatty(1) && ::tcgetpgrp(0) == ::getpgrp();
}

image::Image findOrPull(Context& ctx, image::ImageStore& store, const RunFlags& f) {
    if (f.pull == "always") return pullWithOutput(ctx, f.image, f.platform, f.quiet);
    if (auto img = store.find(f.image)) return *img;
    if (f.pull == "never") throw Error("No such image: " + familiarName(f.image));
    std::fprintf(stderr, "Unable to find image '%s' locally\n", familiarName(f.image).c_str());
    std::fflush(stderr);
    return pullWithOutput(ctx, f.image, f.platform, f.quiet);
}

// -a: which streams the foreground shows (docker: all of stdout and stderr without -a; -i
// attaches stdin). Validated before anything is created.
struct Attach {
    bool in = false, out = true, err = true;
};
Attach parseAttach(const RunFlags& f) {
    Attach a;
    if (f.attach.empty()) return a;
    if (f.detach) throw Error("Conflicting options: -a and -d");
    a.out = a.err = false;
    for (const auto& v : f.attach) {
        std::string s;
        for (char c : v) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (s == "stdin") a.in = true;
        else if (s == "stdout") a.out = true;
        else if (s == "stderr") a.err = true;
        else throw Error("invalid argument \"" + v + "\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR");
    }
    return a;
}

void run(Context& ctx, RunFlags& f, const std::vector<std::string>& userArgs, bool entrypointGiven) {
    using namespace runtime;
    const RestartPolicy restart = parseRestartPolicy(f.restart);
    if (f.rm && restart.mode != RestartPolicy::Mode::No) throw Error("Conflicting options: --restart and --rm");
    const Attach attach = parseAttach(f);
    // -a stdin: the container's stdin is the caller's (docker's AttachStdin needs it open).
    if (attach.in) f.interactive = true;
    if (!f.interactive && !f.tty && f.attach.empty() && interactiveTerminal()) f.interactive = f.tty = true;

    ContainerSpec spec;
    spec.id = newContainerId();
    spec.network = parseNetworkFlag(f.network);
    // docker's rules for -p outside the bridge; malformed -p values fail here, before any record.
    if (!f.publish.empty() && spec.network == NetworkMode::None)
        throw Error("conflicting options: port publishing and the container type network mode");
    if (!f.publish.empty() && spec.network == NetworkMode::Host) {
        std::fprintf(stderr, "WARNING: Published ports are discarded when using host network mode\n");
        f.publish.clear();
    }
    nlohmann::json portBindings = net::portBindings(f.publish);
    spec.publish = f.publish;
    spec.stateRoot = ctx.root;
    for (const auto& v : f.volumes) spec.mounts.push_back(parseVolumeFlag(v));
    for (const auto& t : f.tmpfs) spec.mounts.push_back(parseTmpfsFlag(t));
    if (!f.memory.empty()) spec.resources.memoryBytes = parseMemoryLimit(f.memory);
    if (!f.cpus.empty()) {
        long ncpu = ::sysconf(_SC_NPROCESSORS_ONLN);
        CpuQuota q = cpuQuotaFromNano(parseCpus(f.cpus, static_cast<int>(ncpu)));
        spec.resources.cpuQuotaUs = q.quotaUs;
        spec.resources.cpuPeriodUs = q.periodUs;
    }
    if (f.pidsLimit > 0) spec.resources.pidsLimit = f.pidsLimit;
    spec.security.capAdd = f.capAdd;
    spec.security.capDrop = f.capDrop;
    spec.security.privileged = f.privileged;
    for (const auto& o : f.securityOpts) spec.security.addSecurityOpt(o);
    spec.seccompCacheDir = fs::join(ctx.root, "cache");
    if (f.init) {
        spec.init = true;
        spec.initPath = initBinary();
        if (spec.initPath.empty()) throw Error("--init: mydock-init was not found next to the mydock binary");
    }
    // Host paths of -v that don't exist are created as directories, as docker does.
    for (const auto& m : spec.mounts)
        if (m.type == MountSpec::Type::Bind && !fs::exists(m.source)) fs::makeDirs(m.source);
    std::vector<std::string> userEnvList = userEnv(f.envFiles, f.env);

    image::ImageStore store(ctx.root);
    ContainerStore containers(ctx.root);
    // Leftovers of mydock processes killed at any instant: --rm containers that were running,
    // container dirs whose record was never written, and holds whose container is gone (a
    // hold only exists while its record does: made after it, dropped before it).
    for (const auto& dead : containers.sweepDeadAutoRemoved()) store.dropHold(dead);
    containers.sweepIncomplete();
    store.sweepHolds([&](const std::string& holder) { return fs::exists(containers.containerDir(holder)); });

    image::Image img;
    ContainerRecord rec;
    {
        // No rmi/prune may delete the image between finding it and holding it.
        image::ImageStore::UseGuard guard(store);
        img = findOrPull(ctx, store, f);
        const auto& cfg = img.config.config;
        std::optional<std::string> ep;
        if (entrypointGiven) ep = f.entrypoint;
        spec.argv = resolveArgv(cfg.entrypoint, cfg.cmd, ep, userArgs);
        spec.hostname = f.hostname.empty() ? spec.id.substr(0, 12) : f.hostname;
        spec.env = buildEnv(cfg.env, userEnvList, spec.hostname, f.tty);
        spec.cwd = !f.workdir.empty() ? f.workdir : (!cfg.workingDir.empty() ? cfg.workingDir : "/");
        if (spec.cwd.front() != '/') throw Error("the working directory '" + spec.cwd + "' is invalid, it needs to be an absolute path");
        spec.user.unresolved = !f.user.empty() ? f.user : cfg.user;
        for (const auto& l : img.layers) spec.lowerDirs.push_back(l.dir);
        spec.readonlyRootfs = f.readOnly;
        spec.terminal = f.tty;
        spec.stdinOpen = f.interactive;
        spec.containerDir = containers.containerDir(spec.id);

        rec.id = spec.id;
        rec.name = f.name;
        rec.image = f.image;
        rec.imageId = img.id.str();
        rec.command = spec.argv;
        rec.autoRemove = f.rm;
        // What inspect shows and stop needs (the image's StopSignal), kept with the record.
        nlohmann::json c = {{"Hostname", spec.hostname}, {"Env", spec.env}, {"Cmd", userArgs.empty() ? cfg.cmd : userArgs},
                            {"Image", f.image}, {"WorkingDir", spec.cwd}, {"User", spec.user.unresolved},
                            {"Entrypoint", entrypointGiven ? std::vector<std::string>{f.entrypoint} : cfg.entrypoint},
                            {"Tty", f.tty}, {"OpenStdin", f.interactive}, {"AttachStdin", !f.detach && f.interactive},
                            {"AttachStdout", !f.detach && attach.out}, {"AttachStderr", !f.detach && attach.err},
                            {"Labels", cfg.labels}};
        if (!cfg.stopSignal.empty()) c["StopSignal"] = cfg.stopSignal;
        rec.extra["Config"] = c;
        rec.extra["HostConfig"] = {{"NetworkMode", f.network}, {"Privileged", f.privileged},
                                   {"ReadonlyRootfs", f.readOnly}, {"Memory", spec.resources.memoryBytes},
                                   {"PidsLimit", spec.resources.pidsLimit}, {"CapAdd", f.capAdd},
                                   {"CapDrop", f.capDrop}, {"SecurityOpt", f.securityOpts}, {"Init", f.init},
                                   {"Binds", f.volumes}, {"LogConfig", {{"Type", "json-file"}, {"Config", nlohmann::json::object()}}}};
        rec.extra["HostConfig"]["PortBindings"] = portBindings;
        rec.extra["NetworkSettings"] = net::stoppedNetworkSettings(f.network);
        rec.extra["HostConfig"]["RestartPolicy"] = {{"Name", restart.name()}, {"MaximumRetryCount", restart.maxRetries}};
        rec.extra["RestartCount"] = 0;
        // Every container has its log, foreground or detached (the foreground relay logs what
        // it shows; see launch.h).
        rec.extra["LogPath"] = logPath(containers, spec.id);
        rec = containers.create(rec);
        try {
            store.addHold(spec.id, img.id, !f.rm);   // a --rm container leaves no state worth a sync
        } catch (...) {
            containers.remove(spec.id);
            throw;
        }
    }
    // The resolved spec, for start and restart. Without it the container can't be started:
    // it goes as a whole (the hold first: a hold never outlives its container).
    try {
        saveSpec(spec, !f.rm);
    } catch (...) {
        store.dropHold(spec.id);
        containers.remove(spec.id);
        throw;
    }

    LaunchOptions opts;
    opts.detach = f.detach;
    opts.attachStdout = attach.out;
    opts.attachStderr = attach.err;
    launch(ctx, spec, rec, opts);
    if (f.detach) std::printf("%s\n", spec.id.c_str());
}

}  // namespace

void registerRun(CLI::App& app, Context& ctx) {
    auto f = std::make_shared<RunFlags>();
    CLI::App* sub = app.add_subcommand("run", "Create and run a new container from an image");
    // -h is --hostname, as in docker; --help only before IMAGE (after it, it is the
    // command's: `run img ls --help`), so it is a plain flag checked in the callback.
    sub->set_help_flag();
    auto help = std::make_shared<bool>(false);
    sub->add_flag("--help", *help, "Print usage");
    // Everything after IMAGE is the command, options included (`run img sh -c 'x'`).
    sub->prefix_command();
    auto multi = [](CLI::Option* o) { o->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll); };
    sub->add_flag("--rm", f->rm, "Automatically remove the container when it exits");
    sub->add_flag("-d,--detach", f->detach, "Run container in background and print container ID");
    sub->add_flag("-i,--interactive", f->interactive, "Keep STDIN open even if not attached");
    sub->add_flag("-t,--tty", f->tty, "Allocate a pseudo-TTY");
    sub->add_option("--name", f->name, "Assign a name to the container");
    multi(sub->add_option("-e,--env", f->env, "Set environment variables"));
    multi(sub->add_option("--env-file", f->envFiles, "Read in a file of environment variables"));
    sub->add_option("-w,--workdir", f->workdir, "Working directory inside the container");
    sub->add_option("-u,--user", f->user, "Username or UID (format: <name|uid>[:<group|gid>])");
    sub->add_option("--entrypoint", f->entrypoint, "Overwrite the default ENTRYPOINT of the image");
    sub->add_option("-h,--hostname", f->hostname, "Container host name");
    multi(sub->add_option("-v,--volume", f->volumes, "Bind mount a volume (SRC:DST[:ro])"));
    multi(sub->add_option("--tmpfs", f->tmpfs, "Mount a tmpfs directory"));
    sub->add_flag("--read-only", f->readOnly, "Mount the container's root filesystem as read only");
    sub->add_option("--network,--net", f->network, "Connect a container to a network (none, host, bridge)");
    multi(sub->add_option("-p,--publish", f->publish, "Publish a container's port(s) to the host"));
    sub->add_option("-m,--memory", f->memory, "Memory limit");
    sub->add_option("--cpus", f->cpus, "Number of CPUs");
    sub->add_option("--pids-limit", f->pidsLimit, "Tune container pids limit (set -1 for unlimited)");
    multi(sub->add_option("--cap-add", f->capAdd, "Add Linux capabilities"));
    multi(sub->add_option("--cap-drop", f->capDrop, "Drop Linux capabilities"));
    sub->add_flag("--privileged", f->privileged, "Give extended privileges to this container");
    multi(sub->add_option("--security-opt", f->securityOpts, "Security Options"));
    sub->add_flag("--init", f->init, "Run an init inside the container that forwards signals and reaps processes");
    sub->add_option("--platform", f->platform, "Set platform if server is multi-platform capable");
    sub->add_option("--pull", f->pull, "Pull image before running (always, missing, never)")
        ->check(CLI::IsMember({"always", "missing", "never"}));
    sub->add_flag("-q,--quiet", f->quiet, "Suppress the pull output");
    sub->add_option("--restart", f->restart, "Restart policy to apply when a container exits (no, on-failure[:N], always, unless-stopped)");
    multi(sub->add_option("-a,--attach", f->attach, "Attach to STDIN, STDOUT or STDERR"));
    // IMAGE is not declared as a positional: the first word that is not an option stops the
    // parsing (prefix_command), so IMAGE and everything after it land in remaining().
    sub->footer("Usage: mydock run [OPTIONS] IMAGE [COMMAND] [ARG...]");
    sub->callback([f, sub, help, &ctx] {
        if (*help) throw CLI::CallForHelp();
        std::vector<std::string> rest = sub->remaining();
        if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
        if (rest.empty()) throw CLI::RequiredError("IMAGE");
        // An option CLI11 did not know stops the parsing too: it is not an image name.
        if (rest.front().size() > 1 && rest.front()[0] == '-') throw Error("unknown flag: " + rest.front());
        f->image = rest.front();
        rest.erase(rest.begin());
        run(ctx, *f, rest, sub->count("--entrypoint") > 0);
    });
}

}  // namespace mydock::cli
