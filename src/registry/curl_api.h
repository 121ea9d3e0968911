// libcurl, loaded on first use. mydock does not link libcurl: its dependency tree (OpenSSL's
// libssl, GnuTLS, Kerberos, LDAP, libpsl, ...) costs milliseconds of loading and library
// constructors at every start, while only pull and login talk HTTP. The first caller of
// curlApi() dlopens "libcurl.so.4" (its stable SONAME), resolves the functions below and
// runs curl_global_init, once per process; every other call returns the same table.
//
// Only transport.cpp uses this. Types and constants still come from <curl/curl.h>; calls
// go through the table (curlApi().easy_setopt(...)), which also steps around the variadic
// type-checking macros that <curl/curl.h> defines for curl_easy_setopt and friends.
#pragma once

#include <curl/curl.h>

namespace mydock::registry::detail {

inline constexpr const char* kCurlSoname = "libcurl.so.4";

// Every function transport.cpp calls, by its name without the "curl_" prefix.
#define MYDOCK_CURL_FUNCTIONS(X)                                                          \
    X(global_init) X(version_info) X(free) X(slist_append) X(slist_free_all) X(share_init) \
    X(share_setopt) X(share_cleanup) X(easy_init) X(easy_setopt) X(easy_perform)          \
    X(easy_getinfo) X(easy_strerror) X(easy_escape) X(easy_cleanup) X(url) X(url_set)     \
    X(url_get) X(url_cleanup)

// Members are named without the "curl_" prefix, so curl's function-like macros
// (curl_easy_setopt, curl_easy_getinfo, ...) never expand on them.
struct CurlApi {
#define MYDOCK_CURL_MEMBER(name) decltype(&::curl_##name) name = nullptr;
    MYDOCK_CURL_FUNCTIONS(MYDOCK_CURL_MEMBER)
#undef MYDOCK_CURL_MEMBER
};

// The process-wide table, loaded (and curl_global_init run) on the first call; thread-safe.
// Throws mydock::Error ("libcurl.so.4 is needed to talk to registries: <dlerror>") when the
// library or one of its functions cannot be found; every later call throws the same error.
const CurlApi& curlApi();

// Loads `soname` and resolves the table without caching nor curl_global_init; for tests
// (a missing library must give a clear error). Throws like curlApi().
CurlApi loadCurlApi(const char* soname);

}  // namespace mydock::registry::detail
