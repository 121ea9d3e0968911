// The distribution API client: endpoints (mirrors, insecure registries), auth, redirects,
// retries and resume on top of the curl transport.
#include "registry/client.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <strings.h>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "registry/auth.h"
#include "registry/insecure.h"
#include "registry/reference_grammar.h"
#include "registry/transport.h"

namespace mydock::registry {

using detail::HttpRequest;
using detail::HttpResponse;
using detail::HttpResult;
using detail::TlsConfig;
using detail::Transport;

namespace {

// A failure worth another attempt: the network, a 5xx, a 429.
class TransientError : public Error {
public:
    TransientError(const std::string& m, long retryAfterMs, bool connectivity)
        : Error(m), retryAfterMs_(retryAfterMs), connectivity_(connectivity) {}
    long retryAfterMs() const { return retryAfterMs_; }
    bool connectivity() const { return connectivity_; }

private:
    long retryAfterMs_;
    bool connectivity_;
};

// An endpoint that could not be reached at all, after retries. Mirrors fall back on it, and
// it is the least useful error to show when another endpoint gave a real answer.
class UnreachableError : public Error {
public:
    using Error::Error;
};

struct Endpoint {
    std::string base;       // "https://registry-1.docker.io", a mirror URL; empty until probed
    std::string hostPort;   // for messages, certs.d and insecure checks
    std::string domain;     // whose credentials apply ("docker.io", "host:5000")
    bool mirror = false;
    bool probe = false;     // insecure registry: HTTPS first, then plain HTTP
};

const char* kManifestAccept =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.1";

std::string trimSlash(std::string s) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

bool transientCurl(int code) {
    switch (code) {
    case 5:   // COULDNT_RESOLVE_PROXY
    case 6:   // COULDNT_RESOLVE_HOST
    case 7:   // COULDNT_CONNECT
    case 16:  // HTTP2
    case 18:  // PARTIAL_FILE
    case 28:  // OPERATION_TIMEDOUT (includes the low-speed limit)
    case 35:  // SSL_CONNECT_ERROR
    case 52:  // GOT_NOTHING
    case 55:  // SEND_ERROR
    case 56:  // RECV_ERROR
    case 92:  // HTTP2_STREAM
        return true;
    default:
        return false;
    }
}

bool tlsTrustFailure(int code) { return code == 60 || code == 77 || code == 58 || code == 83; }

// The registry's {"errors":[{"code":..,"message":..}]}; "" when the body has none.
std::pair<std::string, std::string> registryError(const std::string& body) {
    try {
        auto j = nlohmann::json::parse(body);
        if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty()) {
            const auto& e = j["errors"][0];
            std::string code = e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
            std::string msg = e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
            return {code, msg};
        }
        if (j.is_object() && j.contains("details") && j["details"].is_string()) return {"", j["details"].get<std::string>()};
    } catch (const std::exception&) {
    }
    return {"", ""};
}

std::string lowerCode(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::replace(s.begin(), s.end(), '_', ' ');
    return s;
}

// "code: message" as docker prints a registry error, e.g. "manifest unknown: manifest unknown".
std::string describe(const HttpResponse& r) {
    auto [code, msg] = registryError(r.errorBody);
    if (code.empty() && msg.empty()) return "HTTP " + std::to_string(r.status);
    if (code.empty()) return msg;
    return lowerCode(code) + (msg.empty() ? "" : ": " + msg);
}

long retryAfterMs(const HttpResponse& r) {
    std::string v = r.header("retry-after");
    if (v.empty() || v.size() > 6 || !std::all_of(v.begin(), v.end(), ::isdigit)) return -1;
    return std::min(std::stol(v), 120L) * 1000;
}

bool isRedirect(long s) { return s == 301 || s == 302 || s == 303 || s == 307 || s == 308; }

}  // namespace

struct Client::Impl {
    ClientOptions opts;
    Transport transport;
    TokenCache tokens;

    std::mutex mu;  // guards everything below
    std::map<std::string, std::string> probedBase;                 // hostPort -> base URL
    std::map<std::string, std::vector<Challenge>> challenges;      // base URL -> its challenges
    std::set<std::string> pinged;                                  // base URLs
    std::map<std::string, TlsConfig> tlsCache;                     // hostPort -> TLS settings
    std::map<std::string, std::optional<Credentials>> credsCache;  // domain -> credentials
    std::set<std::string> deadMirrors;
    std::string systemCas;
    bool systemCasLoaded = false;

    explicit Impl(ClientOptions o) : opts(std::move(o)) {
        if (opts.maxAttempts < 1) opts.maxAttempts = 1;
    }

    // ---- endpoints -------------------------------------------------------------------------

    Endpoint originFor(const std::string& domain) {
        Endpoint ep;
        ep.domain = domain;
        if (domain == kDockerHubDomain) {
            ep.base = trimSlash(opts.dockerHubUrl);
            ep.hostPort = Transport::hostPort(ep.base);
            return ep;
        }
        if (!validDomain(domain)) throw Error("invalid registry host \"" + domain.substr(0, 200) + "\"");
        ep.hostPort = domain;
        if (isInsecureRegistry(domain, opts.insecureRegistries)) ep.probe = true;
        else ep.base = "https://" + domain;
        return ep;
    }

    std::vector<Endpoint> endpointsFor(const Reference& ref) {
        std::vector<Endpoint> out;
        if (ref.domain == kDockerHubDomain) {
            for (const auto& m : opts.registryMirrors) {
                std::string base = trimSlash(m);
                if (base.find("://") == std::string::npos) base = "https://" + base;
                {
                    std::lock_guard lk(mu);
                    if (deadMirrors.count(base)) continue;
                }
                Endpoint ep;
                ep.base = base;
                ep.hostPort = Transport::hostPort(base);
                if (ep.hostPort.empty()) continue;
                ep.domain = ep.hostPort;
                ep.mirror = true;
                out.push_back(ep);
            }
        }
        out.push_back(originFor(ref.domain));
        return out;
    }

    // Tries each endpoint in turn; a mirror's failure falls through to the next one.
    template <class F>
    auto overEndpoints(std::vector<Endpoint>& eps, F&& f) -> decltype(f(eps.front())) {
        std::exception_ptr best;
        bool bestUnreachable = true;
        for (auto& ep : eps) {
            try {
                return f(ep);
            } catch (const UnreachableError& e) {
                if (ep.mirror) {
                    log::info("registry mirror " + ep.base + " unreachable, trying the next endpoint: " + e.what());
                    std::lock_guard lk(mu);
                    deadMirrors.insert(ep.base);
                }
                if (!best) best = std::current_exception();
            } catch (const Error& e) {
                if (ep.mirror) log::info("registry mirror " + ep.base + " failed, trying the next endpoint: " + e.what());
                if (!best || bestUnreachable) {
                    best = std::current_exception();
                    bestUnreachable = false;
                }
            }
        }
        std::rethrow_exception(best);
    }

    // ---- TLS ---------------------------------------------------------------------------------

    TlsConfig tlsFor(const std::string& hostPort) {
        std::lock_guard lk(mu);
        if (auto it = tlsCache.find(hostPort); it != tlsCache.end()) return it->second;
        TlsConfig t;
        std::vector<std::string> cas;
        // docker's certs.d: HOST[:PORT]/*.crt are CAs, NAME.cert + NAME.key a client identity.
        bool safeName = !hostPort.empty() && hostPort.find('/') == std::string::npos && hostPort != "." && hostPort != "..";
        std::error_code ec;
        std::string dir = fs::join(opts.certsDir, hostPort);
        if (safeName && !opts.certsDir.empty() && std::filesystem::is_directory(dir, ec)) {
            std::vector<std::string> names;
            for (const auto& e : std::filesystem::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
            std::sort(names.begin(), names.end());
            for (const auto& n : names) {
                std::string p = fs::join(dir, n);
                if (n.ends_with(".crt")) cas.push_back(fs::readFile(p));
                if (n.ends_with(".cert")) {
                    std::string key = fs::join(dir, n.substr(0, n.size() - 5) + ".key");
                    if (!fs::exists(key)) throw Error("missing key " + key + " for client certificate " + p);
                    t.clientCert = p;
                    t.clientKey = key;
                }
            }
        }
        if (!cas.empty()) {
            if (!systemCasLoaded) {
                fs::readFileIfExists(Transport::systemCaFile(), systemCas);
                systemCasLoaded = true;
            }
            t.caBundlePem = systemCas;
            for (const auto& c : cas) t.caBundlePem += "\n" + c + "\n";
        } else if (isInsecureRegistry(hostPort, opts.insecureRegistries)) {
            // docker's insecure registries: HTTPS without verification (else plain HTTP).
            t.verify = false;
        }
        tlsCache[hostPort] = t;
        return t;
    }

    HttpRequest baseRequest(const std::string& url) {
        HttpRequest r;
        r.url = url;
        r.tls = tlsFor(Transport::hostPort(url));
        r.connectTimeoutSec = opts.connectTimeoutSec;
        r.lowSpeedTimeSec = opts.lowSpeedTimeSec;
        r.userAgent = opts.userAgent;
        return r;
    }

    // ---- HTTP with redirects -----------------------------------------------------------------

    // Follows redirects itself so that Authorization never reaches another origin (blobs
    // are often served by a CDN that must not see registry credentials).
    HttpResult performFollowing(HttpRequest req) {
        for (int hop = 0;; ++hop) {
            HttpResult r = transport.perform(req);
            if (!r.ok() || !isRedirect(r.response.status)) return r;
            std::string loc = r.response.header("location");
            if (loc.empty()) return r;
            if (hop >= 10) throw Error("too many redirects fetching " + req.url);
            std::string next = Transport::resolve(req.url, loc);
            if (Transport::origin(next) != Transport::origin(req.url)) {
                std::erase_if(req.headers, [](const std::string& h) {
                    return h.size() >= 14 && strncasecmp(h.c_str(), "authorization:", 14) == 0;
                });
                req.tls = tlsFor(Transport::hostPort(next));
            }
            if (r.response.status == 303) {
                req.method = "GET";
                req.body.clear();
            }
            log::debug("redirect " + std::to_string(r.response.status) + " to " + next);
            req.url = next;
        }
    }

    // Turns a failed or retryable exchange into the matching exception; returns otherwise.
    void checkTransport(const HttpResult& r, const std::string& host) {
        if (!r.ok()) {
            if (tlsTrustFailure(r.curlCode))
                throw Error("cannot reach registry " + host + ": TLS certificate not trusted (" + r.curlError +
                            "); put the registry's CA in " + fs::join(opts.certsDir, host) + "/ca.crt");
            if (transientCurl(r.curlCode))
                throw TransientError("cannot reach registry " + host + ": " + r.curlError, -1, true);
            throw Error("cannot reach registry " + host + ": " + r.curlError);
        }
        long s = r.response.status;
        if (s == 429 || s == 408 || (s >= 500 && s != 501 && s != 505))
            throw TransientError("registry " + host + " answered " + std::to_string(s) + " (" + describe(r.response) + ")",
                                 retryAfterMs(r.response), false);
    }

    // ---- ping and auth ------------------------------------------------------------------------

    std::vector<Challenge> challengesOf(const HttpResponse& r) {
        std::vector<Challenge> out;
        for (const auto& h : r.headersAll("www-authenticate"))
            for (auto& c : parseChallenges(h)) out.push_back(std::move(c));
        return out;
    }

    // GET /v2/ once per endpoint: learns the scheme of an insecure registry and its challenges.
    void ensurePing(Endpoint& ep) {
        {
            std::lock_guard lk(mu);
            if (ep.probe) {
                auto it = probedBase.find(ep.hostPort);
                if (it != probedBase.end()) {
                    ep.base = it->second;
                    ep.probe = false;
                }
            }
            if (!ep.probe && pinged.count(ep.base)) return;
        }
        HttpResult r;
        if (ep.probe) {
            std::string https = "https://" + ep.hostPort;
            r = performFollowing(baseRequest(https + "/v2/"));
            if (r.ok()) {
                ep.base = https;
            } else {
                HttpResult plain = performFollowing(baseRequest("http://" + ep.hostPort + "/v2/"));
                // A TLS server answers plain HTTP with a 400: that is no HTTP registry.
                if (plain.ok() && plain.response.status != 400) {
                    ep.base = "http://" + ep.hostPort;
                    r = std::move(plain);
                }
            }
            checkTransport(r, ep.hostPort);
            std::lock_guard lk(mu);
            probedBase[ep.hostPort] = ep.base;
            ep.probe = false;
        } else {
            r = performFollowing(baseRequest(ep.base + "/v2/"));
            checkTransport(r, ep.hostPort);
        }
        std::lock_guard lk(mu);
        challenges[ep.base] = challengesOf(r.response);
        pinged.insert(ep.base);
    }

    const Credentials* credsFor(const std::string& domain) {
        if (!opts.credentials) return nullptr;
        std::lock_guard lk(mu);
        auto it = credsCache.find(domain);
        if (it == credsCache.end()) it = credsCache.emplace(domain, opts.credentials->get(domain)).first;
        return it->second ? &*it->second : nullptr;
    }

    Token fetchToken(const Endpoint& ep, const Challenge& ch, const std::string& scope, const Credentials* creds) {
        std::string realm = ch.param("realm");
        if (!(realm.starts_with("https://") || realm.starts_with("http://")))
            throw Error("registry " + ep.hostPort + " sent an invalid token realm \"" + realm.substr(0, 200) + "\"");
        std::string service = ch.param("service");
        bool refresh = creds && !creds->identityToken.empty();
        std::string query;
        auto add = [&](const std::string& k, const std::string& v) {
            if (v.empty()) return;
            query += (query.empty() ? "" : "&") + k + "=" + Transport::escape(v);
        };
        std::string body;
        auto collect = [&body](const char* p, std::size_t n) {
            if (body.size() + n > 1024 * 1024) return false;   // no token is this large
            body.append(p, n);
            return true;
        };
        HttpResult r;
        if (refresh) {
            // An OAuth refresh token (docker's identitytoken) goes in a POSTed form.
            add("grant_type", "refresh_token");
            add("refresh_token", creds->identityToken);
            add("service", service);
            add("scope", scope);
            add("client_id", "mydock");
            HttpRequest req = baseRequest(realm);
            req.onData = collect;
            req.method = "POST";
            req.body = query;
            req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
            r = performFollowing(std::move(req));
        } else {
            add("service", service);
            add("scope", scope);
            std::string url = realm + (query.empty() ? "" : (realm.find('?') == std::string::npos ? "?" : "&") + query);
            HttpRequest req = baseRequest(url);
            req.onData = collect;
            if (creds && !creds->username.empty())
                req.headers.push_back("Authorization: Basic " + base64Encode(creds->username + ":" + creds->password));
            r = performFollowing(std::move(req));
        }
        std::string authHost = Transport::hostPort(realm);
        checkTransport(r, authHost);
        long s = r.response.status;
        if (s == 401 || s == 403) {
            if (creds) {
                auto [code, msg] = registryError(r.response.errorBody);
                throw Error("unauthorized: " + (msg.empty() ? std::string("incorrect username or password") : msg) +
                            " (mydock login " + ep.domain + ")");
            }
            throw Error("unauthorized: authentication required by " + ep.hostPort + " (mydock login " + ep.domain + ")");
        }
        if (s != 200) throw Error("token server " + authHost + " answered " + describe(r.response));
        if (r.aborted) throw Error("token server " + authHost + " sent an oversized answer");
        return parseTokenResponse(body, std::chrono::steady_clock::now());
    }

    // The Authorization header for a request to `ep` within `scope` ("" when none applies).
    std::string authorize(const Endpoint& ep, const std::string& scope, const Credentials* creds, bool fresh,
                          std::string& tokenUsed) {
        std::vector<Challenge> chs;
        {
            std::lock_guard lk(mu);
            chs = challenges[ep.base];
        }
        for (const auto& ch : chs) {
            if (ch.scheme != "bearer") continue;
            std::string key = scope + "\n" + (creds ? creds->username : std::string());
            std::optional<std::string> tok;
            if (!fresh) tok = tokens.get(ep.base, key);
            if (!tok) {
                Token t = fetchToken(ep, ch, scope, creds);
                tok = t.value;
                tokens.put(ep.base, key, std::move(t));
            }
            tokenUsed = *tok;
            return "Authorization: Bearer " + *tok;
        }
        for (const auto& ch : chs)
            if (ch.scheme == "basic" && creds && !creds->username.empty())
                return "Authorization: Basic " + base64Encode(creds->username + ":" + creds->password);
        return {};
    }

    // One request to the registry API, authorised, following redirects; on a 401 (expired
    // token, new scope) it learns the challenge and tries once more with a fresh token.
    HttpResult exchange(Endpoint& ep, const std::string& path, const std::string& scope, const HttpRequest& tmpl,
                        const Credentials* credsOverride = nullptr) {
        ensurePing(ep);
        const Credentials* creds = credsOverride ? credsOverride : credsFor(ep.domain);
        HttpResult r;
        for (int round = 0; round < 2; ++round) {
            std::string tokenUsed;
            HttpRequest req = tmpl;
            req.url = ep.base + path;
            req.tls = tlsFor(ep.hostPort);
            req.connectTimeoutSec = opts.connectTimeoutSec;
            req.lowSpeedTimeSec = opts.lowSpeedTimeSec;
            req.userAgent = opts.userAgent;
            std::string auth = authorize(ep, scope, creds, round > 0, tokenUsed);
            if (!auth.empty()) req.headers.push_back(auth);
            r = performFollowing(std::move(req));
            if (!r.ok() || r.response.status != 401 || round > 0) break;
            auto chs = challengesOf(r.response);
            bool usable = false;
            for (const auto& c : chs) usable = usable || c.scheme == "bearer" || (c.scheme == "basic" && creds);
            if (!usable) break;
            if (!tokenUsed.empty()) tokens.drop(ep.base, scope + "\n" + (creds ? creds->username : ""), tokenUsed);
            else if (!auth.empty()) break;  // Basic credentials refused: no point asking again
            std::lock_guard lk(mu);
            challenges[ep.base] = chs;
        }
        return r;
    }

    // ---- retries ---------------------------------------------------------------------------------

    long backoffMs(int failures, long retryAfter) const {
        if (retryAfter >= 0) return retryAfter;
        long d = opts.baseDelayMs;
        for (int i = 1; i < failures && d < opts.maxDelayMs; ++i) d *= 2;
        return std::min<long>(d, opts.maxDelayMs);
    }

    template <class F>
    auto retrying(F&& f) -> decltype(f()) {
        for (int attempt = 1;; ++attempt) {
            try {
                return f();
            } catch (const TransientError& e) {
                if (attempt >= opts.maxAttempts) {
                    if (e.connectivity()) throw UnreachableError(e.what());
                    throw Error(e.what());
                }
                long ms = backoffMs(attempt, e.retryAfterMs());
                log::info(std::string(e.what()) + "; retrying in " + std::to_string(ms) + " ms");
                std::this_thread::sleep_for(std::chrono::milliseconds(ms));
            }
        }
    }

    // ---- errors users meet -------------------------------------------------------------------

    [[noreturn]] void throwStatus(const HttpResponse& r, const Endpoint& ep, const Reference& ref,
                                  const std::string& what) {
        auto [code, msg] = registryError(r.errorBody);
        const bool haveCreds = credsFor(ep.domain) != nullptr;
        std::string denied = "pull access denied for " + ref.familiarRepository() +
                             ", repository does not exist or may require 'mydock login'";
        if (r.status == 404) {
            if (code == "NAME_UNKNOWN") throw Error(denied + ": " + describe(r));
            throw Error(what + " not found: " + (code.empty() ? std::string("manifest unknown") : describe(r)));
        }
        if (r.status == 401 || r.status == 403) {
            if (haveCreds && r.status == 401)
                throw Error("unauthorized: " + (msg.empty() ? std::string("authentication required") : msg) +
                            " (mydock login " + ep.domain + ")");
            throw Error(denied + ": " + (code.empty() ? std::string("denied: requested access to the resource is denied") : describe(r)));
        }
        throw Error("registry " + ep.hostPort + " answered " + describe(r) + " for " + what);
    }
};

// -------------------------------------------------------------------------------------------

Client::Client(ClientOptions opts) : impl_(std::make_unique<Impl>(std::move(opts))) {}
Client::~Client() = default;

namespace {
std::string scopeFor(const Reference& ref) { return "repository:" + ref.path + ":pull"; }

void checkRepository(const Reference& ref) {
    // The path goes into URLs: it must be docker's grammar, nothing else ("..", "?", "%").
    if (!validRepositoryPath(ref.path)) throw Error("invalid repository name \"" + ref.path.substr(0, 200) + "\"");
}
}  // namespace

FetchedManifest Client::getManifest(const Reference& ref, const std::string& tagOrDigest) {
    checkRepository(ref);
    std::optional<Digest> want = Digest::tryParse(tagOrDigest);
    if (!want && !validTag(tagOrDigest))
        throw Error("invalid tag or digest \"" + tagOrDigest.substr(0, 200) + "\"");
    if (want && want->algorithm() != "sha256")
        throw Error("unsupported digest algorithm " + want->algorithm() + " in " + tagOrDigest);
    const std::string what = "manifest for " + ref.familiarRepository() + (want ? "@" : ":") + tagOrDigest;
    auto eps = impl_->endpointsFor(ref);

    return impl_->overEndpoints(eps, [&](Endpoint& ep) {
        return impl_->retrying([&] {
            std::string body;
            bool tooBig = false;
            HttpRequest tmpl;
            tmpl.headers.push_back(kManifestAccept);
            tmpl.onHeaders = [&](const HttpResponse& r) {
                body.clear();
                std::string cl = r.header("content-length");
                if (!cl.empty() && (cl.size() > 12 || std::stoull(cl) > kMaxManifestBytes)) {
                    tooBig = true;
                    return false;
                }
                return true;
            };
            tmpl.onData = [&](const char* p, std::size_t n) {
                // Stop reading the moment the limit is passed, not after the whole body.
                if (body.size() + n > kMaxManifestBytes) {
                    tooBig = true;
                    return false;
                }
                body.append(p, n);
                return true;
            };
            HttpResult r = impl_->exchange(ep, "/v2/" + ref.path + "/manifests/" + tagOrDigest, scopeFor(ref), tmpl);
            if (tooBig)
                throw Error(what + " is larger than " + std::to_string(kMaxManifestBytes) + " bytes: refused");
            impl_->checkTransport(r, ep.hostPort);
            if (r.response.status != 200) impl_->throwStatus(r.response, ep, ref, what);

            FetchedManifest m;
            m.body = std::move(body);
            m.digest = Digest::sha256Of(m.body);
            if (std::string h = r.response.header("docker-content-digest"); !h.empty()) {
                auto hd = Digest::tryParse(h);
                if (!hd) throw Error("registry " + ep.hostPort + " sent an invalid Docker-Content-Digest \"" + h.substr(0, 200) + "\"");
                if (hd->algorithm() == "sha256" && *hd != m.digest)
                    throw Error("digest mismatch in " + what + ": the registry says " + hd->str() +
                                " but the content is " + m.digest.str());
            }
            if (want && *want != m.digest)
                throw Error("digest mismatch in " + what + ": the content is " + m.digest.str());
            std::string ct = r.response.header("content-type");
            ct = ct.substr(0, ct.find(';'));
            while (!ct.empty() && ct.back() == ' ') ct.pop_back();
            if (ct.empty() || ct == "application/json" || ct == "text/plain" || ct == "application/octet-stream") {
                try {
                    auto j = nlohmann::json::parse(m.body);
                    if (j.is_object() && j.contains("mediaType") && j["mediaType"].is_string()) ct = j["mediaType"];
                } catch (const std::exception&) {
                }
            }
            m.mediaType = ct;
            return m;
        });
    });
}

namespace {
// The target of a Link header's rel="next" entry ("</v2/x/tags/list?n=2&last=b>; rel=\"next\""),
// or "" when there is none.
std::string nextLink(const HttpResponse& r) {
    for (const std::string& h : r.headersAll("link")) {
        std::size_t pos = 0;
        while (pos < h.size()) {
            auto lt = h.find('<', pos);
            if (lt == std::string::npos) break;
            auto gt = h.find('>', lt);
            if (gt == std::string::npos) break;
            auto end = h.find(',', gt);
            std::string params = h.substr(gt + 1, end == std::string::npos ? std::string::npos : end - gt - 1);
            std::string lower;
            for (char c : params) if (c != ' ' && c != '"') lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (lower.find("rel=next") != std::string::npos) return h.substr(lt + 1, gt - lt - 1);
            if (end == std::string::npos) break;
            pos = end + 1;
        }
    }
    return "";
}
}  // namespace

std::vector<std::string> Client::listTags(const Reference& ref) {
    checkRepository(ref);
    constexpr std::size_t kMaxBody = 16u << 20;   // one page's JSON
    constexpr int kMaxPages = 10000;              // a registry that links in a circle
    const std::string what = "tags of " + ref.familiarRepository();
    auto eps = impl_->endpointsFor(ref);

    return impl_->overEndpoints(eps, [&](Endpoint& ep) {
        std::vector<std::string> tags;
        std::string path = "/v2/" + ref.path + "/tags/list";
        std::set<std::string> seen;
        for (int page = 0; !path.empty(); ++page) {
            if (!seen.insert(path).second)
                throw Error("registry " + ep.hostPort + " links the pages of " + what + " in a circle");
            if (page >= kMaxPages) throw Error("registry " + ep.hostPort + " sent more than " + std::to_string(kMaxPages) + " pages of " + what);
            path = impl_->retrying([&] {
                std::string body;
                bool tooBig = false;
                HttpRequest tmpl;
                tmpl.headers.push_back("Accept: application/json");
                tmpl.onHeaders = [&](const HttpResponse&) {
                    body.clear();
                    return true;
                };
                tmpl.onData = [&](const char* p, std::size_t n) {
                    if (body.size() + n > kMaxBody) {
                        tooBig = true;
                        return false;
                    }
                    body.append(p, n);
                    return true;
                };
                HttpResult r = impl_->exchange(ep, path, scopeFor(ref), tmpl);
                if (tooBig) throw Error("a page of " + what + " is larger than " + std::to_string(kMaxBody) + " bytes: refused");
                impl_->checkTransport(r, ep.hostPort);
                if (r.response.status != 200) impl_->throwStatus(r.response, ep, ref, what);
                try {
                    auto j = nlohmann::json::parse(body);
                    if (j.contains("tags") && !j["tags"].is_null()) {   // distribution sends null for none
                        for (const auto& t : j.at("tags")) {
                            std::string tag = t.get<std::string>();
                            if (!validTag(tag)) throw Error("invalid tag \"" + tag.substr(0, 200) + "\"");
                            tags.push_back(std::move(tag));
                        }
                    }
                } catch (const std::exception& e) {
                    throw Error("registry " + ep.hostPort + " sent an invalid list of " + what + ": " + e.what());
                }
                std::string next = nextLink(r.response);
                if (next.empty()) return next;
                // The next page must stay on this registry: a path, or this endpoint's own URL.
                if (next.starts_with(ep.base + "/")) next = next.substr(ep.base.size());
                if (!next.starts_with("/v2/"))
                    throw Error("registry " + ep.hostPort + " sent a Link to another place: " + next.substr(0, 200));
                return next;
            });
        }
        return tags;
    });
}

void Client::getBlob(const Reference& ref, const Descriptor& d, BlobSink& sink, const ProgressFn& progress) {
    checkRepository(ref);
    if (d.digest.empty()) throw Error("blob descriptor without a digest");
    if (d.digest.algorithm() != "sha256") throw Error("unsupported digest algorithm in " + d.digest.str());
    if (d.size < 0) throw Error("blob " + d.digest.str() + " has a negative size");
    const std::string path = "/v2/" + ref.path + "/blobs/" + d.digest.str();
    auto eps = impl_->endpointsFor(ref);
    bool sinkUsed = false;   // bytes from an endpoint that failed must be forgotten

    impl_->overEndpoints(eps, [&](Endpoint& ep) {
        if (sinkUsed) {
            sink.restart();
            sinkUsed = false;
        }
        std::optional<Sha256> hasher;
        hasher.emplace();
        std::int64_t received = 0;
        int failures = 0, tries = 0;
        while (true) {
            ++tries;
            std::string fatal;
            std::exception_ptr sinkError;
            const std::int64_t before = received;
            HttpRequest tmpl;
            if (received > 0) tmpl.headers.push_back("Range: bytes=" + std::to_string(received) + "-");
            tmpl.onHeaders = [&](const HttpResponse& r) {
                if (r.status == 206) {
                    // "Content-Range: bytes START-END/TOTAL": it must continue where we are.
                    std::string cr = r.header("content-range");
                    long long start = -1;
                    if (std::sscanf(cr.c_str(), "bytes %lld-", &start) != 1 || start != received) {
                        fatal = "registry resumed blob " + d.digest.str() + " at the wrong offset (" + cr + ")";
                        return false;
                    }
                } else if (r.status == 200) {
                    if (received > 0) {
                        // The server ignored Range: everything starts again from byte 0.
                        try {
                            sink.restart();
                        } catch (...) {
                            sinkError = std::current_exception();
                            return false;
                        }
                        hasher.emplace();
                        received = 0;
                    }
                    std::string cl = r.header("content-length");
                    if (!cl.empty() && cl != std::to_string(d.size)) {
                        fatal = "blob " + d.digest.str() + " has the wrong size: the registry sends " + cl +
                                " bytes, the manifest says " + std::to_string(d.size);
                        return false;
                    }
                } else {
                    fatal = "unexpected HTTP " + std::to_string(r.status) + " for blob " + d.digest.str();
                    return false;
                }
                if (std::string h = r.header("docker-content-digest"); !h.empty() && h != d.digest.str()) {
                    fatal = "digest mismatch for blob " + d.digest.str() + ": the registry says " + h.substr(0, 200);
                    return false;
                }
                return true;
            };
            tmpl.onData = [&](const char* p, std::size_t n) {
                if (received + static_cast<std::int64_t>(n) > d.size) {
                    fatal = "blob " + d.digest.str() + " is larger than its size in the manifest (" +
                            std::to_string(d.size) + " bytes): refused";
                    return false;
                }
                try {
                    hasher->update(p, n);
                    sink.write(p, n);
                    sinkUsed = true;
                } catch (...) {
                    sinkError = std::current_exception();
                    return false;
                }
                received += static_cast<std::int64_t>(n);
                if (progress) progress(received, d.size);
                return true;
            };

            try {
                HttpResult r = impl_->exchange(ep, path, scopeFor(ref), tmpl);
                if (sinkError) std::rethrow_exception(sinkError);
                if (!fatal.empty()) throw Error(fatal);
                impl_->checkTransport(r, ep.hostPort);
                long s = r.response.status;
                if (s != 200 && s != 206) {
                    if (s == 404)
                        throw Error("blob unknown: " + d.digest.str() + " not found in " + ref.familiarRepository() +
                                    " on " + ep.hostPort);
                    impl_->throwStatus(r.response, ep, ref, "blob " + d.digest.str());
                }
                if (received < d.size)
                    throw TransientError("blob " + d.digest.str() + " ended early: " + std::to_string(received) +
                                         " of " + std::to_string(d.size) + " bytes", -1, false);
                Digest got = hasher->finish();
                if (got != d.digest)
                    throw Error("digest mismatch: filesystem layer verification failed for " + d.digest.str() +
                                " (content hashes to " + got.str() + ")");
                return;
            } catch (const TransientError& e) {
                // An attempt that moved the blob forward does not use up the budget; the
                // total stays bounded all the same.
                if (received <= before) ++failures;
                if (failures >= impl_->opts.maxAttempts || tries >= impl_->opts.maxAttempts * 4) {
                    if (e.connectivity()) throw UnreachableError(e.what());
                    throw Error(e.what());
                }
                long ms = impl_->backoffMs(std::max(failures, 1), e.retryAfterMs());
                log::info(std::string(e.what()) + "; resuming at byte " + std::to_string(received) + " in " +
                          std::to_string(ms) + " ms");
                std::this_thread::sleep_for(std::chrono::milliseconds(ms));
            }
        }
    });
}

void Client::checkLogin(const std::string& registryDomain, const Credentials& c) {
    Endpoint ep = impl_->originFor(registryDomain == "index.docker.io" ? std::string(kDockerHubDomain) : registryDomain);
    HttpResult r = impl_->retrying([&] {
        HttpResult res = impl_->exchange(ep, "/v2/", "", HttpRequest{}, &c);
        impl_->checkTransport(res, ep.hostPort);
        return res;
    });
    long s = r.response.status;
    if (s == 200) return;
    if (s == 401 || s == 403) {
        auto [code, msg] = registryError(r.response.errorBody);
        throw Error("unauthorized: " + (msg.empty() ? std::string("incorrect username or password") : msg));
    }
    throw Error("login to " + ep.hostPort + " failed: " + describe(r.response));
}

}  // namespace mydock::registry
