#include "common/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "common/error.h"
#include "common/random.h"
#include "common/unique_fd.h"

namespace mydock::fs {

std::string readFile(const std::string& path) {
    std::string out;
    if (!readFileIfExists(path, out)) throwErrno("read " + path, ENOENT);
    return out;
}

bool readFileIfExists(const std::string& path, std::string& out) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return false;
        throwErrno("open " + path);
    }
    out.clear();
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throwErrno("read " + path);
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return true;
}

bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

bool isDir(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

static void writeAll(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throwErrno("write " + path);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

void writeFileAtomic(const std::string& path, std::string_view data, bool durable, mode_t mode) {
    std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(randomU64() % 1000000);
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd) throwErrno("create " + tmp);
    try {
        writeAll(fd.get(), data, tmp);
        if (durable && ::fsync(fd.get()) != 0) throwErrno("fsync " + tmp);
        fd.reset();
        if (::rename(tmp.c_str(), path.c_str()) != 0) throwErrno("rename " + tmp + " to " + path);
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    if (durable) fsyncPath(dirname(path));
}

void makeDirs(const std::string& path, mode_t mode) {
    if (path.empty()) return;
    if (::mkdir(path.c_str(), mode) == 0) return;
    if (errno == EEXIST) {
        if (isDir(path)) return;
        throwErrno("mkdir " + path, ENOTDIR);
    }
    if (errno != ENOENT) throwErrno("mkdir " + path);
    std::string parent = dirname(path);
    if (parent != path) makeDirs(parent, mode);
    if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) throwErrno("mkdir " + path);
}

void fsyncPath(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throwErrno("open " + path);
    if (::fsync(fd.get()) != 0) throwErrno("fsync " + path);
}

namespace {
// Removes everything inside the directory `dirfd` (which lies on device `dev`).
void removeContents(int dirfd, dev_t dev, const std::string& where) {
    int dupfd = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (dupfd < 0) throwErrno("dup " + where);
    DIR* d = ::fdopendir(dupfd);
    if (!d) {
        ::close(dupfd);
        throwErrno("opendir " + where);
    }
    std::unique_ptr<DIR, int (*)(DIR*)> guard(d, ::closedir);
    while (struct dirent* e = ::readdir(d)) {
        if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
        struct stat st;
        if (::fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;
            throwErrno("stat " + where + "/" + e->d_name);
        }
        if (S_ISDIR(st.st_mode)) {
            // A different st_dev means a mount point: never descend into someone else's mount.
            if (st.st_dev != dev) throwErrno("remove " + where + "/" + e->d_name, EBUSY);
            UniqueFd sub(::openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub && errno == EACCES) {
                ::fchmodat(dirfd, e->d_name, 0700, 0);
                sub.reset(::openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            }
            if (!sub) throwErrno("open " + where + "/" + e->d_name);
            removeContents(sub.get(), dev, where + "/" + e->d_name);
            if (::unlinkat(dirfd, e->d_name, AT_REMOVEDIR) != 0 && errno != ENOENT)
                throwErrno("rmdir " + where + "/" + e->d_name);
        } else if (::unlinkat(dirfd, e->d_name, 0) != 0 && errno != ENOENT) {
            throwErrno("unlink " + where + "/" + e->d_name);
        }
    }
}
}  // namespace

void removeTree(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return;
        throwErrno("stat " + path);
    }
    if (!S_ISDIR(st.st_mode)) {
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) throwErrno("unlink " + path);
        return;
    }
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throwErrno("open " + path);
    removeContents(fd.get(), st.st_dev, path);
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) throwErrno("rmdir " + path);
}

std::string join(std::string_view a, std::string_view b) {
    if (a.empty()) return std::string(b);
    std::string out(a);
    if (out.back() != '/') out += '/';
    while (!b.empty() && b.front() == '/') b.remove_prefix(1);
    out += b;
    return out;
}

std::string dirname(std::string_view path) {
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    auto slash = path.rfind('/');
    if (slash == std::string_view::npos) return ".";
    if (slash == 0) return "/";
    return std::string(path.substr(0, slash));
}

std::string basename(std::string_view path) {
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

TempDir::TempDir(const std::string& parent, const std::string& prefix) {
    std::string tmpl = join(parent, prefix + "XXXXXX");
    if (!::mkdtemp(tmpl.data())) throwErrno("mkdtemp in " + parent);
    path_ = tmpl;
}

TempDir::~TempDir() {
    if (path_.empty()) return;
    try {
        removeTree(path_);
    } catch (...) {
    }
}

}  // namespace mydock::fs
