// Pulling with docker's progress output, shared by the `pull` verb and by `run` when the image
// is missing (`Unable to find image 'x:latest' locally`, then the pull's lines).
#pragma once

#include <cstdio>
#include <string>

#include "cli/context.h"
#include "image/image_store.h"

namespace mydock::cli {

struct PullOutputOptions {
    std::FILE* out = stdout;       // docker's `pull` prints on stdout, `run`'s pull on stderr
    bool quiet = false;            // no progress at all
    bool printReference = true;    // the final "docker.io/library/busybox:latest" line (pull only)
};

// Pulls `ref` (any reference docker accepts) for `platform` ("" = the host's,
// else "os/arch[/variant]") into ctx.root's store, printing docker's output: live redrawn
// lines on a terminal, plain lines otherwise. Throws mydock::Error (exit 125) on failure,
// leaving no partial image. Returns the pulled image (as ImageStore::find would).
image::Image pullImage(Context& ctx, const std::string& ref, const std::string& platform,
                       const PullOutputOptions& opts);

// `pull -a REPO`: every tag the registry lists for REPO (a name without tag or digest, else
// Error "tag can't be used with --all-tags/-a"), one section per tag, then docker's single
// "Status: ... for REPO" line and the repository's full name, on stdout.
void pullAllTags(Context& ctx, const std::string& repo, const std::string& platform, bool quiet);

// What `run` calls when the image is missing or --pull always: progress on stderr (as
// docker's run does), no trailing reference line; `quiet` (run -q) prints nothing.
// Hold an image::ImageStore::UseGuard around this call and your addHold() so that no
// concurrent rmi/prune deletes the image in between.
inline image::Image pullWithOutput(Context& ctx, const std::string& ref,
                                   const std::string& platform, bool quiet) {
    return pullImage(ctx, ref, platform, PullOutputOptions{stderr, quiet, false});
}

}  // namespace mydock::cli
