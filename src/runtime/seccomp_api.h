// libseccomp, loaded on first use. mydock does not link it: libseccomp only compiles the
// filter, which is cached as BPF (seccomp.cpp), so a warm `run` or `exec` never needs it while
// a linked binary would load it at every start. The first caller of seccompApi() dlopens
// "libseccomp.so.2" (its stable SONAME) and resolves the functions below, once per process.
//
// Types, constants and the SCMP_* macros still come from <seccomp.h>; calls go through the
// table: seccompApi().rule_add_array(ctx, ...).
#pragma once

#include <seccomp.h>

#include <string>

namespace mydock::runtime {

inline constexpr const char* kSeccompSoname = "libseccomp.so.2";

// Every function seccomp.cpp calls, by its name without the "seccomp_" prefix.
#define MYDOCK_SECCOMP_FUNCTIONS(X)                                                    \
    X(init) X(release) X(arch_add) X(attr_set) X(syscall_resolve_name)                 \
    X(syscall_resolve_name_arch) X(rule_add_array) X(export_bpf) X(version)

struct SeccompApi {
#define MYDOCK_SECCOMP_MEMBER(name) decltype(&::seccomp_##name) name = nullptr;
    MYDOCK_SECCOMP_FUNCTIONS(MYDOCK_SECCOMP_MEMBER)
#undef MYDOCK_SECCOMP_MEMBER
    // The file the library was loaded from (dladdr of one of its functions), e.g.
    // "/lib/x86_64-linux-gnu/libseccomp.so.2": the BPF cache records its identity.
    std::string path;
};

// The process-wide table, loaded on the first call; thread-safe. Throws mydock::Error
// ("libseccomp.so.2 is needed to compile the seccomp filter (Debian package libseccomp2):
// <dlerror>") when the library or one of its functions cannot be found; every later call
// throws the same error.
const SeccompApi& seccompApi();

// Loads `soname` and resolves the table without caching; for tests. Throws like seccompApi().
SeccompApi loadSeccompApi(const char* soname);

}  // namespace mydock::runtime
