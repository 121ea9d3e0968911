// Advisory file locks (flock) on a path: the store's way to let many mydock processes share
// one state root (store.md, item 4). The lock dies with its fd, so a killed process never
// leaves a lock behind.
#pragma once

#include <string>

#include "common/unique_fd.h"

namespace mydock {

class FileLock {
public:
    enum class Mode { Shared, Exclusive };

    FileLock() = default;
    // Opens (creating) `path` and blocks until the lock is held.
    FileLock(const std::string& path, Mode mode);
    // Returns an unlocked FileLock (operator bool false) when the lock is busy.
    static FileLock tryLock(const std::string& path, Mode mode);

    explicit operator bool() const { return static_cast<bool>(fd_); }
    void unlock() { fd_.reset(); }

private:
    UniqueFd fd_;
};

}  // namespace mydock
