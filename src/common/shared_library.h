// Libraries mydock loads with dlopen on first use (libcurl, libarchive, libcrypto): linking
// them would cost every start of mydock their loading, relocations and constructors, while
// most verbs never call them. One loader and one "load once" cache for all of them.
#pragma once

#include <mutex>
#include <string>

#include "common/error.h"

namespace mydock {

class SharedLibrary {
public:
    // dlopen(soname, RTLD_NOW | RTLD_LOCAL): a broken install fails here with dlerror's words,
    // not at a later call, and the library's symbols serve only the caller's table. Errors
    // read "<soname> is needed <purpose>: <why>" (purpose: "to talk to registries").
    SharedLibrary(std::string soname, std::string purpose);
    ~SharedLibrary();   // closes the library unless keep() was called
    SharedLibrary(const SharedLibrary&) = delete;
    SharedLibrary& operator=(const SharedLibrary&) = delete;

    // Points `fn` at the symbol `name`; throws when it is missing.
    template <class F>
    void resolve(const char* name, F& fn) const {
        fn = reinterpret_cast<F>(symbol(name));
    }
    // The library stays loaded for the process's life (its tables point into it).
    void keep() { handle_ = nullptr; }
    // The error text for `why`, in the form above.
    std::string error(const std::string& why) const;

private:
    void* symbol(const char* name) const;
    std::string soname_, purpose_;
    void* handle_ = nullptr;
};

// A function table loaded once per process, thread-safe: the first get() runs `load`; a
// failure is kept and thrown (mydock::Error) to that caller and every later one. Nothing
// throws out of call_once (an exception there has hung some libstdc++ builds).
template <class Api>
class LoadOnce {
public:
    template <class Load>
    const Api& get(Load&& load) {
        std::call_once(once_, [&] {
            try {
                api_ = load();
            } catch (const std::exception& e) {
                error_ = e.what();
            }
        });
        if (!error_.empty()) throw Error(error_);
        return api_;
    }

private:
    std::once_flag once_;
    Api api_{};
    std::string error_;
};

}  // namespace mydock
