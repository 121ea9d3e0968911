#include "registry/curl_api.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "common/error.h"

namespace mydock::registry::detail {

namespace {

std::string loadError(const char* soname, const std::string& why) {
    return std::string(soname) + " is needed to talk to registries: " + why;
}

// Closes a library whose table could not be completed; a complete one stays loaded.
struct Handle {
    void* h = nullptr;
    ~Handle() {
        if (h) dlclose(h);
    }
};

template <class F>
void resolve(void* h, const char* soname, const char* name, F& out) {
    dlerror();  // clear a stale message, so the one read below is dlsym's
    void* p = dlsym(h, name);
    if (!p) {
        const char* e = dlerror();
        throw Error(loadError(soname, e ? e : std::string("no symbol ") + name));
    }
    out = reinterpret_cast<F>(p);
}

}  // namespace

CurlApi loadCurlApi(const char* soname) {
    // RTLD_LOCAL: curl's symbols (and those of its dependencies) serve only this table.
    // RTLD_NOW: a broken install fails here, with dlerror's message, not at a later call.
    Handle lib{dlopen(soname, RTLD_NOW | RTLD_LOCAL)};
    if (!lib.h) {
        const char* e = dlerror();
        throw Error(loadError(soname, e ? e : "cannot load it"));
    }
    CurlApi a{};
#define MYDOCK_CURL_RESOLVE(name) resolve(lib.h, soname, "curl_" #name, a.name);
    MYDOCK_CURL_FUNCTIONS(MYDOCK_CURL_RESOLVE)
#undef MYDOCK_CURL_RESOLVE
    // Never unloaded: curl and its TLS libraries keep process-wide state (atexit handlers,
    // thread-local data) that must outlive every transfer.
    lib.h = nullptr;
    return a;
}

const CurlApi& curlApi() {
    static std::once_flag once;
    static CurlApi api;
    static std::string error;
    // Nothing throws out of call_once (an exception there has hung some libstdc++ builds):
    // a failure is kept and thrown to this caller and every later one.
    std::call_once(once, [] {
        try {
            CurlApi a = loadCurlApi(kCurlSoname);
            // curl_global_init is not thread-safe in every libcurl: it runs here, once,
            // before any transfer, and call_once makes the other threads wait for it.
            CURLcode rc = a.global_init(CURL_GLOBAL_DEFAULT);
            if (rc != CURLE_OK) {
                error = loadError(kCurlSoname, std::string("curl_global_init: ") + a.easy_strerror(rc));
                return;
            }
            api = a;
        } catch (const std::exception& e) {
            error = e.what();
        }
    });
    if (!error.empty()) throw Error(error);
    return api;
}

}  // namespace mydock::registry::detail
