// mydock inspect [-f FORMAT] [--type container|image] NAME...   and   mydock image inspect
#include <iostream>
#include <map>
#include <memory>

#include "cli/context.h"
#include "cli/image_format.h"
#include "cli/image_verbs.h"
#include "cli/inspect_hooks.h"
#include "common/error.h"
#include "image/image_store.h"

namespace mydock::cli {

using ojson = nlohmann::ordered_json;

std::vector<InspectKind>& inspectKinds() {
    static std::vector<InspectKind> kinds;
    return kinds;
}

void addInspectHook(const std::string& type, InspectHook hook) { inspectKinds().push_back({type, std::move(hook)}); }

namespace {

ojson orNull(const nlohmann::json& obj, const char* key) {
    if (obj.is_object() && obj.contains(key) && !obj[key].is_null()) return ojson::parse(obj[key].dump());
    return nullptr;
}

std::string strOr(const nlohmann::json& obj, const char* key) {
    if (obj.is_object() && obj.contains(key) && obj[key].is_string()) return obj[key].get<std::string>();
    return "";
}

struct InspectFlags {
    std::string format, type;
    bool size = false;
    std::vector<std::string> names;
};

void runInspect(Context& ctx, const InspectFlags& f, bool imagesOnly) {
    std::vector<InspectKind> kinds;
    if (!imagesOnly)
        for (const auto& k : inspectKinds())
            if (f.type.empty() || f.type == k.type) kinds.push_back(k);
    if (imagesOnly || f.type.empty() || f.type == "image")
        kinds.push_back({"image", [&ctx](const std::string& n) { return inspectImage(ctx, n); }});
    if (kinds.empty()) throw Error("\"" + f.type + "\" is not a valid value for --type");

    ojson all = ojson::array();
    std::vector<std::string> missing;
    for (const auto& name : f.names) {
        ojson found;
        for (const auto& k : kinds) {
            found = k.hook(name);
            if (!found.is_null()) break;
        }
        if (found.is_null()) missing.push_back(name);
        else all.push_back(std::move(found));
    }
    if (f.format.empty()) {
        std::cout << all.dump(4) << "\n";
    } else {
        for (const auto& o : all) std::cout << renderGoTemplate(f.format, o) << "\n";
    }
    std::cout.flush();
    for (const auto& m : missing)
        std::cerr << "Error: No such " << (imagesOnly || f.type == "image" ? "image" : "object") << ": " << m << "\n";
    if (!missing.empty()) ctx.exitCode = 1;
}

void addInspectFlags(CLI::App* sub, InspectFlags& f) {
    sub->add_option("-f,--format", f.format, "Format output using a Go template ({{.Field}}, {{json .Field}})");
    sub->add_flag("-s,--size", f.size, "Display total file sizes");
    sub->add_option("NAME", f.names, "Objects to inspect")->required();
}

}  // namespace

ojson inspectImage(Context& ctx, const std::string& name) {
    image::ImageStore store(ctx.root);
    auto img = store.find(name);
    if (!img) return nullptr;
    const nlohmann::json& raw = img->config.raw;
    const nlohmann::json cfg = raw.is_object() && raw.contains("config") && raw["config"].is_object() ? raw["config"] : nlohmann::json::object();

    // Docker's container.Config, in its field order.
    ojson c;
    c["Hostname"] = strOr(cfg, "Hostname");
    c["Domainname"] = strOr(cfg, "Domainname");
    c["User"] = strOr(cfg, "User");
    c["AttachStdin"] = false;
    c["AttachStdout"] = false;
    c["AttachStderr"] = false;
    if (auto p = orNull(cfg, "ExposedPorts"); !p.is_null()) c["ExposedPorts"] = p;
    c["Tty"] = false;
    c["OpenStdin"] = false;
    c["StdinOnce"] = false;
    c["Env"] = orNull(cfg, "Env");
    c["Cmd"] = orNull(cfg, "Cmd");
    if (auto h = orNull(cfg, "Healthcheck"); !h.is_null()) c["Healthcheck"] = h;
    if (cfg.contains("ArgsEscaped") && cfg["ArgsEscaped"].is_boolean() && cfg["ArgsEscaped"].get<bool>()) c["ArgsEscaped"] = true;
    c["Image"] = strOr(cfg, "Image");
    c["Volumes"] = orNull(cfg, "Volumes");
    c["WorkingDir"] = strOr(cfg, "WorkingDir");
    c["Entrypoint"] = orNull(cfg, "Entrypoint");
    c["OnBuild"] = orNull(cfg, "OnBuild");
    c["Labels"] = orNull(cfg, "Labels");
    if (auto s = strOr(cfg, "StopSignal"); !s.empty()) c["StopSignal"] = s;
    if (auto s = orNull(cfg, "Shell"); !s.is_null()) c["Shell"] = s;

    ojson j;
    j["Id"] = img->id.str();
    j["RepoTags"] = img->repoTags;
    j["RepoDigests"] = img->repoDigests;
    j["Parent"] = "";
    j["Comment"] = strOr(raw, "comment");
    j["Created"] = img->config.created;
    j["DockerVersion"] = strOr(raw, "docker_version");
    j["Author"] = strOr(raw, "author");
    j["Config"] = c;
    j["Architecture"] = img->config.architecture;
    if (!img->config.variant.empty()) j["Variant"] = img->config.variant;
    j["Os"] = img->config.os;
    j["Size"] = img->size;
    std::string lower;
    for (auto it = img->layers.rbegin(); it != img->layers.rend(); ++it) lower += (lower.empty() ? "" : ":") + it->dir;
    j["GraphDriver"] = {{"Data", {{"LowerDir", lower}}}, {"Name", "overlay"}};
    ojson layers = ojson::array();
    for (const auto& l : img->layers) layers.push_back(l.diffId.str());
    j["RootFS"] = {{"Type", "layers"}, {"Layers", layers}};
    j["Metadata"] = {{"LastTagTime", "0001-01-01T00:00:00Z"}};
    return j;
}

void setupImageInspect(CLI::App* sub, Context& ctx) {
    auto f = std::make_shared<InspectFlags>();
    addInspectFlags(sub, *f);
    sub->callback([f, &ctx] { runInspect(ctx, *f, true); });
}

void registerInspect(CLI::App& app, Context& ctx) {
    auto* sub = app.add_subcommand("inspect", "Return low-level information on Docker objects");
    auto f = std::make_shared<InspectFlags>();
    addInspectFlags(sub, *f);
    sub->add_option("--type", f->type, "Return JSON for specified type");
    sub->callback([f, &ctx] { runInspect(ctx, *f, false); });
}

}  // namespace mydock::cli
