#include "common/lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include "common/error.h"

namespace mydock {

static UniqueFd openLockFile(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) throwErrno("open lock " + path);
    return fd;
}

FileLock::FileLock(const std::string& path, Mode mode) : fd_(openLockFile(path)) {
    int op = mode == Mode::Shared ? LOCK_SH : LOCK_EX;
    while (::flock(fd_.get(), op) != 0) {
        if (errno != EINTR) throwErrno("lock " + path);
    }
}

FileLock FileLock::tryLock(const std::string& path, Mode mode) {
    FileLock l;
    UniqueFd fd = openLockFile(path);
    int op = (mode == Mode::Shared ? LOCK_SH : LOCK_EX) | LOCK_NB;
    if (::flock(fd.get(), op) != 0) {
        if (errno == EWOULDBLOCK) return l;
        throwErrno("lock " + path);
    }
    l.fd_ = std::move(fd);
    return l;
}

}  // namespace mydock
