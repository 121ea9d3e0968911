// Image references with docker's grammar and normalisation (distribution/reference):
//   ubuntu                 -> docker.io/library/ubuntu:latest
//   user/repo:tag          -> docker.io/user/repo:tag
//   host:5000/a/b@sha256:… -> host:5000/a/b@sha256:…   (a reference by digest is pinned)
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/digest.h"

namespace mydock::registry {

inline constexpr const char* kDockerHubDomain = "docker.io";
inline constexpr const char* kDockerHubApiHost = "registry-1.docker.io";

struct Reference {
    std::string domain;    // "docker.io", "localhost:5000", "127.0.0.1:5000", "ghcr.io"
    std::string path;      // "library/ubuntu", "team/app"
    std::string tag;       // "latest" when neither tag nor digest was given; may be empty with a digest
    Digest digest;         // empty unless "@sha256:…" was given

    // Parses and normalises; throws mydock::Error("invalid reference format: …") naming `s`.
    static Reference parse(std::string_view s);

    std::string repository() const { return domain + "/" + path; }   // docker.io/library/ubuntu
    std::string familiarRepository() const;   // "ubuntu", "user/repo", "host:5000/repo"
    std::string string() const;               // full: docker.io/library/ubuntu:latest[@sha256:…]
    std::string familiar() const;             // "ubuntu:latest", as docker prints it
    std::string tagOrDigest() const { return digest.empty() ? tag : digest.str(); }
    std::string apiHost() const;              // registry-1.docker.io for docker.io, else domain
};

}  // namespace mydock::registry
