// The OCI distribution client: resolves references to manifests and streams blobs, with
// auth, TLS, mirrors, redirects, retries and resume. Knows nothing of the store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "registry/reference.h"
#include "registry/types.h"

namespace mydock::registry {

struct Credentials {
    std::string username, password;          // empty username: anonymous
    std::string identityToken;               // OAuth refresh token, when the config has one
};

// Where credentials come from: ~/.docker/config.json "auths" (docker's format), keyed by the
// registry as docker keys it ("https://index.docker.io/v1/" for Docker Hub, else host[:port]).
class CredentialStore {
public:
    explicit CredentialStore(std::string configPath = defaultPath());
    static std::string defaultPath();        // $DOCKER_CONFIG/config.json or ~/.docker/config.json
    std::optional<Credentials> get(const std::string& registryDomain) const;
    void set(const std::string& registryDomain, const Credentials& c);   // atomic rewrite, 0600
    bool erase(const std::string& registryDomain);
    static std::string keyFor(const std::string& registryDomain);

private:
    std::string path_;
};

struct ClientOptions {
    std::vector<std::string> registryMirrors;     // URLs, tried in order for docker.io
    std::vector<std::string> insecureRegistries;  // host[:port] or CIDR; 127.0.0.0/8 always
    std::string certsDir = "/etc/mydock/certs.d"; // HOST[:PORT]/ca.crt
    const CredentialStore* credentials = nullptr;
    int maxAttempts = 5;                          // per request, on connection errors/5xx/429
    int baseDelayMs = 200;                        // backoff base (doubles, capped, Retry-After wins)
    int maxDelayMs = 10000;
    long connectTimeoutSec = 30;
    long lowSpeedTimeSec = 60;                    // abort a transfer stalled this long
    std::string userAgent = "mydock/0.1";
    // Where docker.io's API lives; only tests and offline set-ups change it.
    std::string dockerHubUrl = "https://registry-1.docker.io";
};

struct FetchedManifest {
    std::string body;          // exact bytes (<= kMaxManifestBytes)
    std::string mediaType;     // from Content-Type (or the body's mediaType)
    Digest digest;             // sha256 of body; checked against the reference's digest and
                               // the Docker-Content-Digest header when those exist
};

// Receives a blob's bytes in order. restart() is called when a transfer has to start again
// from byte 0 (a server that ignores Range after a cut): the sink discards what it had.
class BlobSink {
public:
    virtual ~BlobSink() = default;
    virtual void write(const char* data, std::size_t n) = 0;
    virtual void restart() = 0;
};

// Progress of one blob transfer: bytes received so far and the expected total.
using ProgressFn = std::function<void(std::int64_t done, std::int64_t total)>;

class Client {
public:
    explicit Client(ClientOptions opts);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // GET /v2/<name>/manifests/<tag-or-digest> with all four Accept types. `ref` may be
    // by tag or by digest; a digest given is verified. Thread-safe.
    FetchedManifest getManifest(const Reference& ref, const std::string& tagOrDigest);

    // GET /v2/<name>/tags/list, following the Link header's rel="next" pages (same
    // registry only), with auth and retries as getManifest. Every tag is checked against
    // docker's tag grammar. Returns the tags in the registry's order. Thread-safe.
    std::vector<std::string> listTags(const Reference& ref);

    // Streams the blob `d` of `ref`'s repository into `sink`, verifying size and digest as
    // it goes; throws (after bounded retries, resuming with Range where allowed) on failure.
    // Nothing is trusted until this returns. Thread-safe; call from many threads at once.
    void getBlob(const Reference& ref, const Descriptor& d, BlobSink& sink,
                 const ProgressFn& progress = {});

    // Checks credentials against a registry (GET /v2/ with auth), for `mydock login`.
    // Throws mydock::Error("unauthorized: …") when they are refused.
    void checkLogin(const std::string& registryDomain, const Credentials& c);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mydock::registry
