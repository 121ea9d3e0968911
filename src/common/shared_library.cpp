#include "common/shared_library.h"

#include <dlfcn.h>

namespace mydock {

SharedLibrary::SharedLibrary(std::string soname, std::string purpose)
    : soname_(std::move(soname)), purpose_(std::move(purpose)) {
    handle_ = ::dlopen(soname_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
        const char* e = ::dlerror();
        throw Error(error(e ? e : "cannot load it"));
    }
}

SharedLibrary::~SharedLibrary() {
    if (handle_) ::dlclose(handle_);
}

std::string SharedLibrary::error(const std::string& why) const {
    return soname_ + " is needed " + purpose_ + ": " + why;
}

void* SharedLibrary::symbol(const char* name) const {
    ::dlerror();   // clear a stale message, so the one read below is dlsym's
    void* p = ::dlsym(handle_, name);
    if (!p) {
        const char* e = ::dlerror();
        throw Error(error(e ? e : std::string("no symbol ") + name));
    }
    return p;
}

}  // namespace mydock
