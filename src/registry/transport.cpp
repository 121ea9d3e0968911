#include "registry/transport.h"

#include <cctype>
#include <chrono>
#include <cstring>
#include <mutex>

#include "common/error.h"
#include "registry/curl_api.h"

namespace mydock::registry::detail {

namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return std::string(s);
}

struct EasyDeleter {
    void operator()(CURL* c) const { curlApi().easy_cleanup(c); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const { curlApi().slist_free_all(l); }
};
struct UrlDeleter {
    void operator()(CURLU* u) const { curlApi().url_cleanup(u); }
};
struct CurlStrDeleter {
    void operator()(char* p) const { curlApi().free(p); }
};
using CurlStr = std::unique_ptr<char, CurlStrDeleter>;

// State of one transfer, reached from curl's callbacks.
struct Transfer {
    const HttpRequest* req = nullptr;
    HttpResult* result = nullptr;
    bool inHeaders = true;       // between a status line and the blank line after it
    bool deliver = false;        // the current answer is 2xx: its body goes to onData
    curl_off_t lastBytes = -1;   // for the stall check
    std::chrono::steady_clock::time_point lastMove = std::chrono::steady_clock::now();
    bool stalled = false;
};

// curl's own low-speed check averages over several seconds, so a burst then silence goes
// unnoticed for a while; this one fails a transfer that has not moved for lowSpeedTimeSec.
int onProgress(void* user, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
    auto* t = static_cast<Transfer*>(user);
    auto now = std::chrono::steady_clock::now();
    if (dlnow + ulnow != t->lastBytes) {
        t->lastBytes = dlnow + ulnow;
        t->lastMove = now;
        return 0;
    }
    if (now - t->lastMove >= std::chrono::seconds(t->req->lowSpeedTimeSec)) {
        t->stalled = true;
        return 1;
    }
    return 0;
}

size_t onHeader(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string_view line(data, size * n);
    HttpResponse& r = t->result->response;
    if (line.starts_with("HTTP/")) {
        // A new answer (after a 100 Continue, say): forget the previous one's headers.
        r.headers.clear();
        r.status = 0;
        auto sp = line.find(' ');
        if (sp != std::string_view::npos) r.status = std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
        t->inHeaders = true;
        t->deliver = false;
        return size * n;
    }
    std::string l = trim(line);
    if (l.empty()) {
        t->inHeaders = false;
        if (r.status >= 100 && r.status < 200) return size * n;  // interim answer
        t->deliver = r.status >= 200 && r.status < 300;
        if (t->deliver && t->req->onHeaders && !t->req->onHeaders(r)) {
            t->result->aborted = true;
            return 0;
        }
        return size * n;
    }
    auto colon = l.find(':');
    if (colon != std::string::npos) r.headers.emplace(lower(trim(l.substr(0, colon))), trim(l.substr(colon + 1)));
    return size * n;
}

size_t onBody(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t len = size * n;
    if (t->deliver) {
        if (t->req->onData && !t->req->onData(data, len)) {
            t->result->aborted = true;
            return 0;  // any count other than len makes curl stop with CURLE_WRITE_ERROR
        }
        return len;
    }
    std::string& eb = t->result->response.errorBody;
    if (eb.size() < t->req->maxErrorBody) eb.append(data, std::min(len, t->req->maxErrorBody - eb.size()));
    return len;
}

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

std::vector<std::string> HttpResponse::headersAll(const std::string& name) const {
    std::vector<std::string> out;
    auto [a, b] = headers.equal_range(name);
    for (auto it = a; it != b; ++it) out.push_back(it->second);
    return out;
}

// One lock per kind of shared data, as libcurl's share interface asks.
struct Transport::Shared {
    CURLSH* sh = nullptr;
    std::mutex locks[CURL_LOCK_DATA_LAST];

    static void lock(CURL*, curl_lock_data d, curl_lock_access, void* p) {
        static_cast<Shared*>(p)->locks[d].lock();
    }
    static void unlock(CURL*, curl_lock_data d, void* p) { static_cast<Shared*>(p)->locks[d].unlock(); }
};

Transport::Transport() : shared_(std::make_unique<Shared>()) {
    // Loads libcurl and runs curl_global_init on the first Transport of the process (the
    // client makes it before any transfer thread starts).
    const CurlApi& cu = curlApi();
    shared_->sh = cu.share_init();
    if (!shared_->sh) throw Error("cannot initialise libcurl");
    cu.share_setopt(shared_->sh, CURLSHOPT_LOCKFUNC, &Shared::lock);
    cu.share_setopt(shared_->sh, CURLSHOPT_UNLOCKFUNC, &Shared::unlock);
    cu.share_setopt(shared_->sh, CURLSHOPT_USERDATA, shared_.get());
    cu.share_setopt(shared_->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    cu.share_setopt(shared_->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    cu.share_setopt(shared_->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
}

Transport::~Transport() {
    if (shared_->sh) curlApi().share_cleanup(shared_->sh);
}

HttpResult Transport::perform(const HttpRequest& req) {
    const CurlApi& cu = curlApi();
    HttpResult result;
    Transfer t;
    t.req = &req;
    t.result = &result;

    std::unique_ptr<CURL, EasyDeleter> easy(cu.easy_init());
    if (!easy) throw Error("cannot initialise a libcurl handle");
    CURL* c = easy.get();
    char errbuf[CURL_ERROR_SIZE] = {};

    curl_slist* raw = nullptr;
    for (const auto& h : req.headers) raw = cu.slist_append(raw, h.c_str());
    // curl adds "Expect: 100-continue" to POSTs; registries do not need the round trip.
    raw = cu.slist_append(raw, "Expect:");
    std::unique_ptr<curl_slist, SlistDeleter> headers(raw);

    cu.easy_setopt(c, CURLOPT_SHARE, shared_->sh);
    cu.easy_setopt(c, CURLOPT_URL, req.url.c_str());
    cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);            // threads: no SIGALRM for DNS timeouts
    cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);      // the client follows redirects itself
    cu.easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    cu.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, req.connectTimeoutSec);
    // A stalled transfer (no byte for lowSpeedTimeSec) fails, to be retried or resumed.
    cu.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    cu.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &onProgress);
    cu.easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    cu.easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024L);   // fewer, larger write callbacks
    cu.easy_setopt(c, CURLOPT_HEADERFUNCTION, &onHeader);
    cu.easy_setopt(c, CURLOPT_HEADERDATA, &t);
    cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, &onBody);
    cu.easy_setopt(c, CURLOPT_WRITEDATA, &t);
    if (!req.userAgent.empty()) cu.easy_setopt(c, CURLOPT_USERAGENT, req.userAgent.c_str());
    if (req.method == "POST") {
        cu.easy_setopt(c, CURLOPT_POST, 1L);
        cu.easy_setopt(c, CURLOPT_POSTFIELDS, req.body.c_str());
        cu.easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
    } else if (req.method == "HEAD") {
        cu.easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (req.method != "GET") {
        cu.easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }

    curl_blob ca{};
    if (!req.tls.verify) {
        cu.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        cu.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (!req.tls.caBundlePem.empty()) {
        // CURLOPT_CAINFO takes one file; a blob holds the system CAs plus the registry's.
        ca.data = const_cast<char*>(req.tls.caBundlePem.data());
        ca.len = req.tls.caBundlePem.size();
        ca.flags = CURL_BLOB_NOCOPY;
        cu.easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
    }
    if (!req.tls.clientCert.empty()) cu.easy_setopt(c, CURLOPT_SSLCERT, req.tls.clientCert.c_str());
    if (!req.tls.clientKey.empty()) cu.easy_setopt(c, CURLOPT_SSLKEY, req.tls.clientKey.c_str());

    CURLcode rc = cu.easy_perform(c);
    result.curlCode = static_cast<int>(rc);
    if (rc != CURLE_OK) result.curlError = errbuf[0] ? std::string(errbuf) : cu.easy_strerror(rc);
    if (rc == CURLE_ABORTED_BY_CALLBACK && t.stalled) {
        result.curlCode = CURLE_OPERATION_TIMEDOUT;
        result.curlError = "transfer stalled: nothing received for " + std::to_string(req.lowSpeedTimeSec) + " s";
    }
    long code = 0;
    if (cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code) result.response.status = code;
    return result;
}

std::string Transport::resolve(const std::string& base, const std::string& location) {
    const CurlApi& cu = curlApi();
    std::unique_ptr<CURLU, UrlDeleter> u(cu.url());
    if (!u) throw Error("out of memory");
    if (cu.url_set(u.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK ||
        cu.url_set(u.get(), CURLUPART_URL, location.c_str(), 0) != CURLUE_OK)
        throw Error("invalid redirect location \"" + location.substr(0, 300) + "\"");
    char* out = nullptr;
    if (cu.url_get(u.get(), CURLUPART_URL, &out, 0) != CURLUE_OK) throw Error("invalid URL");
    CurlStr s(out);
    return s.get();
}

std::string Transport::origin(const std::string& url) {
    const CurlApi& cu = curlApi();
    std::unique_ptr<CURLU, UrlDeleter> u(cu.url());
    if (!u || cu.url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return {};
    char *scheme = nullptr, *host = nullptr, *port = nullptr;
    cu.url_get(u.get(), CURLUPART_SCHEME, &scheme, 0);
    cu.url_get(u.get(), CURLUPART_HOST, &host, 0);
    cu.url_get(u.get(), CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    CurlStr a(scheme), b(host), p(port);
    if (!scheme || !host) return {};
    return lower(std::string(scheme) + "://" + host + ":" + (port ? port : ""));
}

std::string Transport::hostPort(const std::string& url) {
    const CurlApi& cu = curlApi();
    std::unique_ptr<CURLU, UrlDeleter> u(cu.url());
    if (!u || cu.url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return {};
    char *host = nullptr, *port = nullptr;
    cu.url_get(u.get(), CURLUPART_HOST, &host, 0);
    cu.url_get(u.get(), CURLUPART_PORT, &port, 0);
    CurlStr b(host), p(port);
    if (!host) return {};
    std::string out = host;
    if (port) out += std::string(":") + port;
    return out;
}

std::string Transport::escape(const std::string& s) {
    CurlStr e(curlApi().easy_escape(nullptr, s.c_str(), static_cast<int>(s.size())));
    return e ? std::string(e.get()) : std::string();
}

std::string Transport::systemCaFile() {
    const curl_version_info_data* v = curlApi().version_info(CURLVERSION_NOW);
    if (v && v->age >= CURLVERSION_SEVENTH && v->cainfo && *v->cainfo) return v->cainfo;
    return "/etc/ssl/certs/ca-certificates.crt";
}

}  // namespace mydock::registry::detail
