#include "runtime/seccomp_api.h"

#include <dlfcn.h>

#include "common/shared_library.h"

namespace mydock::runtime {

SeccompApi loadSeccompApi(const char* soname) {
    SharedLibrary lib(soname, "to compile the seccomp filter (Debian package libseccomp2)");
    SeccompApi a{};
#define MYDOCK_SECCOMP_RESOLVE(name) lib.resolve("seccomp_" #name, a.name);
    MYDOCK_SECCOMP_FUNCTIONS(MYDOCK_SECCOMP_RESOLVE)
#undef MYDOCK_SECCOMP_RESOLVE
    // dladdr: the path the loader found the library at (it resolved the soname through the
    // search path and ld.so.cache), so the BPF cache can tell when that file is replaced.
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(a.init), &info) != 0 && info.dli_fname) a.path = info.dli_fname;
    // Never unloaded: the table points into it, and unloading buys nothing.
    lib.keep();
    return a;
}

const SeccompApi& seccompApi() {
    static LoadOnce<SeccompApi> table;
    return table.get([] { return loadSeccompApi(kSeccompSoname); });
}

}  // namespace mydock::runtime
