#include "image/archive_api.h"

#include <dlfcn.h>

#include <exception>
#include <mutex>
#include <string>

#include "common/error.h"

namespace mydock::image::unpack {

namespace {

std::string loadError(const char* soname, const std::string& why) {
    return std::string(soname) + " is needed to unpack layers: " + why;
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

ArchiveApi loadArchiveApi(const char* soname) {
    // RTLD_LOCAL: libarchive's symbols (and its dependencies') serve only this table.
    // RTLD_NOW: a broken install fails here, with dlerror's message, not at a later call.
    Handle lib{dlopen(soname, RTLD_NOW | RTLD_LOCAL)};
    if (!lib.h) {
        const char* e = dlerror();
        throw Error(loadError(soname, e ? e : "cannot load it"));
    }
    ArchiveApi a{};
#define MYDOCK_ARCHIVE_RESOLVE(name) resolve(lib.h, soname, "archive_" #name, a.name);
    MYDOCK_ARCHIVE_FUNCTIONS(MYDOCK_ARCHIVE_RESOLVE)
#undef MYDOCK_ARCHIVE_RESOLVE
    // Never unloaded: archives may be open in other threads, and unloading buys nothing.
    lib.h = nullptr;
    return a;
}

const ArchiveApi& archiveApi() {
    static std::once_flag once;
    static ArchiveApi api;
    static std::string error;
    // Nothing throws out of call_once (an exception there has hung some libstdc++ builds):
    // a failure is kept and thrown to this caller and every later one.
    std::call_once(once, [] {
        try {
            api = loadArchiveApi(kArchiveSoname);
        } catch (const std::exception& e) {
            error = e.what();
        }
    });
    if (!error.empty()) throw Error(error);
    return api;
}

}  // namespace mydock::image::unpack
