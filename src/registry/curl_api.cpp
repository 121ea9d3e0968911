#include "registry/curl_api.h"

#include <string>

#include "common/error.h"
#include "common/shared_library.h"

namespace mydock::registry::detail {

CurlApi loadCurlApi(const char* soname) {
    SharedLibrary lib(soname, "to talk to registries");
    CurlApi a{};
#define MYDOCK_CURL_RESOLVE(name) lib.resolve("curl_" #name, a.name);
    MYDOCK_CURL_FUNCTIONS(MYDOCK_CURL_RESOLVE)
#undef MYDOCK_CURL_RESOLVE
    // Never unloaded: curl and its TLS libraries keep process-wide state (atexit handlers,
    // thread-local data) that must outlive every transfer.
    lib.keep();
    return a;
}

const CurlApi& curlApi() {
    static LoadOnce<CurlApi> table;
    return table.get([] {
        CurlApi a = loadCurlApi(kCurlSoname);
        // curl_global_init is not thread-safe in every libcurl: it runs here, once, before any
        // transfer, and call_once makes the other threads wait for it.
        CURLcode rc = a.global_init(CURL_GLOBAL_DEFAULT);
        if (rc != CURLE_OK)
            throw Error(std::string(kCurlSoname) + " is needed to talk to registries: curl_global_init: " +
                        a.easy_strerror(rc));
        return a;
    });
}

}  // namespace mydock::registry::detail
