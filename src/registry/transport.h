// The one place that knows libcurl: a single HTTP exchange (no redirects followed, no
// retries: the client decides those), streaming the body of a 2xx answer to a callback.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mydock::registry::detail {

struct HttpResponse {
    long status = 0;
    std::multimap<std::string, std::string> headers;   // names lower-case, values trimmed
    std::string errorBody;                             // body of a non-2xx answer (truncated)

    std::string header(const std::string& lowerName) const;
    std::vector<std::string> headersAll(const std::string& lowerName) const;
};

struct TlsConfig {
    bool verify = true;
    std::string caBundlePem;        // replaces the system CAs when not empty (system + extra)
    std::string clientCert, clientKey;
};

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::string> headers;     // "Name: value"
    std::string body;                     // sent with POST
    TlsConfig tls;
    long connectTimeoutSec = 30;
    long lowSpeedTimeSec = 60;
    std::string userAgent;
    // Called once the headers of a 2xx answer are in; false aborts the transfer.
    std::function<bool(const HttpResponse&)> onHeaders;
    // Body bytes of a 2xx answer, as they arrive; false aborts the transfer.
    std::function<bool(const char*, std::size_t)> onData;
    std::size_t maxErrorBody = 64 * 1024;
};

struct HttpResult {
    HttpResponse response;
    int curlCode = 0;            // CURLE_OK when an answer came in completely
    std::string curlError;       // curl's message when curlCode != 0
    bool aborted = false;        // a callback asked to stop
    bool ok() const { return curlCode == 0; }
};

// Thread-safe: every perform() uses its own easy handle; DNS, TLS sessions and connections
// are shared between them.
class Transport {
public:
    Transport();
    ~Transport();
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    HttpResult perform(const HttpRequest& req);

    // Helpers on URLs, done by curl's parser: resolving a Location against a base, the
    // "scheme://host:port" origin of a URL, and %-escaping a query value.
    static std::string resolve(const std::string& base, const std::string& location);
    static std::string origin(const std::string& url);
    static std::string hostPort(const std::string& url);   // "host[:port]" as written
    static std::string escape(const std::string& s);
    static std::string systemCaFile();

private:
    struct Shared;
    std::unique_ptr<Shared> shared_;
};

}  // namespace mydock::registry::detail
