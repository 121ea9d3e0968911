// mydock images [-a] [-q] [--digests] [--no-trunc] [--format json] [REPOSITORY[:TAG]]
// and the `mydock image ...` management command (ls, inspect, rm, pull, tag, prune).
#include <fnmatch.h>

#include <algorithm>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "cli/image_format.h"
#include "cli/image_verbs.h"
#include "common/error.h"
#include "image/image_store.h"
#include "registry/reference.h"

namespace mydock::cli {

namespace {

struct ImagesFlags {
    bool all = false, quiet = false, digests = false, noTrunc = false;
    std::string format, filter;
};

struct Row {
    std::string repo, tag, digest;
    const image::Image* img;
};

std::pair<std::string, std::string> splitFamiliar(const std::string& s, char sep) {
    auto p = s.rfind(sep);
    if (sep == ':') {
        auto slash = s.rfind('/');
        if (p == std::string::npos || (slash != std::string::npos && p < slash)) return {s, ""};
    }
    if (p == std::string::npos) return {s, ""};
    return {s.substr(0, p), s.substr(p + 1)};
}

// docker's image formatter: a row per tag (per digest too with --digests), digest-only
// references as <none> tags, dangling images as <none> <none>.
std::vector<Row> rowsOf(const image::Image& img, bool showDigests) {
    std::map<std::string, std::vector<std::string>> tags, digests;
    for (const auto& t : img.repoTags) {
        auto [r, tg] = splitFamiliar(t, ':');
        tags[r].push_back(tg);
    }
    for (const auto& d : img.repoDigests) {
        auto [r, dg] = splitFamiliar(d, '@');
        digests[r].push_back(dg);
    }
    std::vector<Row> out;
    for (const auto& [repo, ts] : tags) {
        auto ds = digests[repo];
        digests.erase(repo);
        if (!showDigests || ds.empty()) {
            for (const auto& t : ts) out.push_back({repo, t, ds.empty() ? "<none>" : ds.front(), &img});
            continue;
        }
        for (const auto& d : ds)
            for (const auto& t : ts) out.push_back({repo, t, d, &img});
    }
    for (const auto& [repo, ds] : digests) {
        if (showDigests)
            for (const auto& d : ds) out.push_back({repo, "<none>", d, &img});
        else
            out.push_back({repo, "<none>", ds.empty() ? "<none>" : ds.front(), &img});
    }
    if (img.repoTags.empty() && img.repoDigests.empty()) out.push_back({"<none>", "<none>", "<none>", &img});
    return out;
}

// REPOSITORY[:TAG] as docker's reference filter: exact names (normalised, so "busybox" finds
// docker.io/library/busybox), or shell patterns ("team/*", "busybox:1.*") on the names as shown.
bool matches(const Row& r, const std::string& filter) {
    if (filter.empty()) return true;
    if (r.repo == "<none>") return false;
    auto [frepo, ftag] = splitFamiliar(filter, ':');
    if (filter.find_first_of("*?[") != std::string::npos) {
        if (::fnmatch(frepo.c_str(), r.repo.c_str(), FNM_PATHNAME) != 0) return false;
        return ftag.empty() || ::fnmatch(ftag.c_str(), r.tag.c_str(), 0) == 0;
    }
    registry::Reference want;
    std::string repoFull;
    try {
        want = registry::Reference::parse(filter);
        repoFull = registry::Reference::parse(r.repo).repository();
    } catch (const std::exception&) {
        return false;
    }
    if (repoFull != want.repository()) return false;
    if (!ftag.empty() && filter.find('@') == std::string::npos) return r.tag == ftag;
    return true;
}

void runImages(Context& ctx, const ImagesFlags& f) {
    image::ImageStore store(ctx.root);
    auto images = store.list();
    std::vector<std::int64_t> created(images.size());
    for (std::size_t i = 0; i < images.size(); ++i) created[i] = parseRfc3339(images[i].config.created);
    std::vector<std::size_t> order(images.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return created[a] > created[b]; });

    std::vector<Row> rows;
    for (auto i : order)
        for (auto& r : rowsOf(images[i], f.digests))
            if (matches(r, f.filter)) rows.push_back(std::move(r));

    auto idOf = [&](const image::Image& img) { return f.noTrunc ? img.id.str() : img.id.shortHex(); };
    std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    auto since = [&](const image::Image& img) {
        std::int64_t c = parseRfc3339(img.config.created);
        if (img.config.created.empty()) return std::string("N/A");
        return humanDuration(now - c) + " ago";
    };

    if (f.quiet) {
        for (const auto& r : rows) std::cout << idOf(*r.img) << "\n";
        return;
    }
    auto rowJson = [&](const Row& r) {
        nlohmann::ordered_json j;   // keys sorted, as Go marshals a map
        j["Containers"] = "N/A";
        j["CreatedAt"] = r.img->config.created.empty() ? "" : goTimeString(parseRfc3339(r.img->config.created));
        j["CreatedSince"] = since(*r.img);
        j["Digest"] = r.digest;
        j["ID"] = idOf(*r.img);
        j["Repository"] = r.repo;
        j["SharedSize"] = "N/A";
        j["Size"] = humanSize(static_cast<double>(r.img->size));
        j["Tag"] = r.tag;
        j["UniqueSize"] = "N/A";
        j["VirtualSize"] = humanSize(static_cast<double>(r.img->size), 4);
        return j;
    };
    if (f.format == "json" || f.format == "{{json .}}") {
        for (const auto& r : rows) std::cout << goJsonEscape(rowJson(r).dump()) << "\n";
        return;
    }
    if (!f.format.empty() && f.format != "table") {
        if (f.format.rfind("table", 0) == 0) throw Error("--format \"table TEMPLATE\" is not supported (use json or a plain template)");
        for (const auto& r : rows) std::cout << renderGoTemplate(f.format, rowJson(r)) << "\n";
        return;
    }
    std::vector<std::vector<std::string>> table;
    if (f.digests) table.push_back({"REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"});
    else table.push_back({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"});
    for (const auto& r : rows) {
        std::vector<std::string> cells{r.repo, r.tag};
        if (f.digests) cells.push_back(r.digest);
        cells.push_back(idOf(*r.img));
        cells.push_back(since(*r.img));
        cells.push_back(humanSize(static_cast<double>(r.img->size)));
        table.push_back(std::move(cells));
    }
    std::cout << tabwrite(table);
}

}  // namespace

void setupImages(CLI::App* sub, Context& ctx) {
    auto f = std::make_shared<ImagesFlags>();
    sub->add_flag("-a,--all", f->all, "Show all images (default hides intermediate images)");
    sub->add_flag("-q,--quiet", f->quiet, "Only show image IDs");
    sub->add_flag("--digests", f->digests, "Show digests");
    sub->add_flag("--no-trunc", f->noTrunc, "Don't truncate output");
    sub->add_option("--format", f->format, "Format output: table or json");
    sub->add_option("REPOSITORY", f->filter, "REPOSITORY[:TAG]");
    sub->callback([f, &ctx] { runImages(ctx, *f); });
}

void registerImages(CLI::App& app, Context& ctx) {
    setupImages(app.add_subcommand("images", "List images"), ctx);

    auto* group = app.add_subcommand("image", "Manage images");
    group->require_subcommand(1);
    auto* ls = group->add_subcommand("ls", "List images");
    ls->alias("list");
    setupImages(ls, ctx);
    setupImageInspect(group->add_subcommand("inspect", "Display detailed information on one or more images"), ctx);
    auto* rm = group->add_subcommand("rm", "Remove one or more images");
    rm->alias("remove");
    setupRmi(rm, ctx);
    setupPull(group->add_subcommand("pull", "Download an image from a registry"), ctx);
    setupTag(group->add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"), ctx);
    setupImagePrune(group->add_subcommand("prune", "Remove unused images"), ctx);
}

}  // namespace mydock::cli
