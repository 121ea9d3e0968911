// docker's pull output (jsonmessage.DisplayJSONMessagesStream): on a terminal one line per
// layer, redrawn in place with ANSI cursor movement; otherwise plain status lines and no
// progress bars.
#include "cli/pull_output.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "cli/image_format.h"
#include "cli/registry_options.h"
#include "common/error.h"
#include "image/puller.h"
#include "registry/client.h"
#include "registry/reference.h"

namespace mydock::cli {

namespace {

class Renderer : public image::PullObserver {
public:
    Renderer(std::FILE* out, bool quiet) : out_(out), quiet_(quiet) {
        tty_ = ::isatty(::fileno(out)) == 1;
        struct winsize ws {};
        // The terminal's width decides, as in docker, whether bars and ETAs fit.
        if (tty_ && ::ioctl(::fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) width_ = ws.ws_col;
    }

    void onResolved(const registry::Reference& ref) override {
        std::string what = ref.digest.empty() ? ref.tag : ref.digest.str();
        std::string path = ref.path;
        message(what + ": Pulling from " + path);
    }

    void onLayer(const std::string& id, image::LayerStatus s, std::int64_t done, std::int64_t total) override {
        if (quiet_) return;
        std::string progress;
        if (s == image::LayerStatus::Downloading) {
            if (!tty_) return;  // docker: "disable progressbar in non-terminal"
            auto& start = starts_[id];
            if (start.time_since_epoch().count() == 0) start = std::chrono::steady_clock::now();
            progress = progressString(done, total, start);
        } else if (s == image::LayerStatus::Extracting && !tty_) {
            return;             // docker's Extracting carries a progress bar: hidden too
        }
        std::string text = id + ": " + image::statusText(s);
        if (!tty_) {
            std::fprintf(out_, "%s\n", text.c_str());
            std::fflush(out_);
            return;
        }
        auto it = lines_.find(id);
        std::size_t line;
        if (it == lines_.end()) {
            line = lines_.size();
            lines_[id] = line;
            std::fputs("\n", out_);
        } else {
            line = it->second;
        }
        std::size_t diff = lines_.size() - line;
        // Up to the layer's line, clear it, write, and back down below the last line.
        std::fprintf(out_, "\x1b[%zuA\x1b[2K\r%s %s\r\x1b[%zuB", diff, text.c_str(), progress.c_str(), diff);
        std::fflush(out_);
    }

    // A line that is not a layer's: ends the in-place block, as docker's does.
    void message(const std::string& s) {
        if (quiet_) return;
        lines_.clear();
        std::fprintf(out_, "%s\n", s.c_str());
        std::fflush(out_);
    }

private:
    // jsonmessage.JSONProgress.String(): bar if the terminal is wider than 110 columns,
    // "  1.23MB/4.56MB", and the time left if wider than 50.
    std::string progressString(std::int64_t cur, std::int64_t total,
                               std::chrono::steady_clock::time_point start) const {
        if (cur <= 0 && total <= 0) return "";
        char buf[64];
        if (total <= 0) {
            std::snprintf(buf, sizeof buf, "%8s", humanSize(static_cast<double>(cur), 4).c_str());
            return buf;
        }
        std::string bar;
        int pct = static_cast<int>(static_cast<double>(cur) / static_cast<double>(total) * 100) / 2;
        if (pct > 50) pct = 50;
        if (width_ > 110) bar = "[" + std::string(pct, '=') + ">" + std::string(50 - pct, ' ') + "] ";
        std::string numbers;
        if (cur > total) {
            std::snprintf(buf, sizeof buf, "%8s", humanSize(static_cast<double>(cur), 4).c_str());
            numbers = buf;
        } else {
            std::snprintf(buf, sizeof buf, "%8s/%s", humanSize(static_cast<double>(cur), 4).c_str(),
                          humanSize(static_cast<double>(total), 4).c_str());
            numbers = buf;
        }
        std::string left;
        if (cur < total && cur > 0 && width_ > 50) {
            double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            auto secs = static_cast<std::int64_t>(elapsed / static_cast<double>(cur) * static_cast<double>(total - cur));
            left = " " + goDuration(secs);
        }
        return bar + numbers + left;
    }

    static std::string goDuration(std::int64_t s) {   // Go's Duration.String() for whole seconds
        if (s == 0) return "0s";
        std::string out;
        if (s >= 3600) out += std::to_string(s / 3600) + "h";
        if (s >= 60) out += std::to_string(s / 60 % 60) + "m";
        out += std::to_string(s % 60) + "s";
        return out;
    }

    std::FILE* out_;
    bool quiet_;
    bool tty_ = false;
    int width_ = 80;
    std::map<std::string, std::size_t> lines_;
    std::map<std::string, std::chrono::steady_clock::time_point> starts_;
};

// Whether the user wrote a tag or digest ("busybox" -> no: docker says "Using default tag").
bool hasExplicitTagOrDigest(const std::string& raw) {
    if (raw.find('@') != std::string::npos) return true;
    auto slash = raw.rfind('/');
    auto colon = raw.rfind(':');
    return colon != std::string::npos && (slash == std::string::npos || colon > slash);
}

}  // namespace

namespace {

image::PullOptions pullOptionsFor(const Context& ctx, const std::string& platform) {
    image::PullOptions po;
    if (!platform.empty()) {
        po.platform = registry::Platform::parse(platform);
        po.platformGiven = true;
    }
    if (ctx.config.maxLayerSize > 0) po.limits.maxBytes = ctx.config.maxLayerSize;
    if (ctx.config.maxLayerEntries > 0) po.limits.maxEntries = ctx.config.maxLayerEntries;
    return po;
}

}  // namespace

image::Image pullImage(Context& ctx, const std::string& rawRef, const std::string& platform,
                       const PullOutputOptions& opts) {
    registry::Reference ref = registry::Reference::parse(rawRef);
    image::PullOptions po = pullOptionsFor(ctx, platform);
    Renderer r(opts.out, opts.quiet);
    if (opts.printReference && !hasExplicitTagOrDigest(rawRef)) r.message("Using default tag: " + ref.tag);

    auto access = makeRegistryAccess(ctx);
    registry::Client client(access->options);
    image::ClientSource source(client);
    image::ImageStore store(ctx.root);
    image::Puller puller(store, source, po);
    image::PullResult res = puller.pull(ref, &r);

    r.message("Digest: " + res.digest.str());
    std::string familiar = ref.familiar();
    r.message(std::string("Status: ") + (res.newer ? "Downloaded newer image for " : "Image is up to date for ") + familiar);
    if (opts.printReference) {
        std::fprintf(opts.out, "%s\n", ref.string().c_str());
        std::fflush(opts.out);
    }
    return std::move(res.image);
}

void pullAllTags(Context& ctx, const std::string& rawRef, const std::string& platform, bool quiet) {
    // docker refuses a tag or digest with -a (reference.IsNameOnly).
    if (hasExplicitTagOrDigest(rawRef)) throw Error("tag can't be used with --all-tags/-a");
    registry::Reference repo = registry::Reference::parse(rawRef);
    image::PullOptions po = pullOptionsFor(ctx, platform);
    Renderer r(stdout, quiet);

    auto access = makeRegistryAccess(ctx);
    registry::Client client(access->options);
    std::vector<std::string> tags = client.listTags(repo);
    if (tags.empty()) throw Error("repository " + repo.familiarRepository() + " has no tags");

    image::ClientSource source(client);
    image::ImageStore store(ctx.root);
    image::Puller puller(store, source, po);
    // As docker's daemon: one section per tag (stopping at the first failure), then a single
    // status line naming the repository.
    bool newer = false;
    for (const auto& tag : tags) {
        registry::Reference ref = repo;
        ref.tag = tag;
        image::PullResult res = puller.pull(ref, &r);
        r.message("Digest: " + res.digest.str());
        newer = newer || res.newer;
    }
    r.message(std::string("Status: ") + (newer ? "Downloaded newer image for " : "Image is up to date for ") +
              repo.familiarRepository());
    std::fprintf(stdout, "%s\n", repo.repository().c_str());
    std::fflush(stdout);
}

}  // namespace mydock::cli
