#include "common/error.h"

#include <cerrno>
#include <cstring>

namespace mydock {

void throwErrno(const std::string& what, int err) {
    throw Error(what + ": " + std::strerror(err), kExitEngineError, err);
}

void throwErrno(const std::string& what) { throwErrno(what, errno); }

void rethrowWithContext(const std::string& context) {
    try {
        throw;
    } catch (const Error& e) {
        throw Error(context + ": " + e.what(), e.exitCode(), e.sysErrno());
    } catch (const std::exception& e) {
        throw Error(context + ": " + e.what());
    }
}

}  // namespace mydock
