#include "image/unpack_extract.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <unordered_set>

#include "common/error.h"
#include "common/log.h"
#include "image/archive_api.h"
#include "image/unpack_paths.h"

namespace mydock::image::unpack {

namespace {

constexpr int kDirPath = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
constexpr int kDirRead = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

std::string q(const std::string& s) { return "\"" + s.substr(0, 300) + "\""; }

[[noreturn]] void entryErrno(const std::string& entry, const std::string& what, int err) {
    throwErrno("layer entry " + q(entry) + ": " + what, err);
}

// Names of entries (and link targets) as raw bytes: the locale form when libarchive has one
// (ustar names are passed through untouched), else the UTF-8 form (pax records).
const char* entryString(const char* mbs, const char* utf8) { return mbs ? mbs : utf8; }

struct DirCloser {
    void operator()(DIR* d) const { closedir(d); }
};

// Deletes every non-directory in `fd` and returns the names of its subdirectories.
std::vector<std::string> scanAndUnlink(int fd) {
    // A second descriptor for readdir, so its offset starts at 0 whatever `fd` did before.
    int dfd = ::openat(fd, ".", kDirRead);
    if (dfd < 0) throwErrno("open directory to remove");
    std::unique_ptr<DIR, DirCloser> d(::fdopendir(dfd));
    if (!d) {
        int err = errno;
        ::close(dfd);
        throwErrno("open directory to remove", err);
    }
    std::vector<std::string> subdirs;
    while (struct dirent* de = ::readdir(d.get())) {
        const char* n = de->d_name;
        if (std::strcmp(n, ".") == 0 || std::strcmp(n, "..") == 0) continue;
        if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) {
            if (::unlinkat(fd, n, 0) == 0 || errno == ENOENT) continue;
            if (errno != EISDIR) throwErrno(std::string("remove ") + n);
        } else if (de->d_type == DT_UNKNOWN) {
            // unlinkat without AT_REMOVEDIR fails with EISDIR on a directory: try it first.
            if (::unlinkat(fd, n, 0) == 0 || errno == ENOENT) continue;
            if (errno != EISDIR) throwErrno(std::string("remove ") + n);
        }
        subdirs.emplace_back(n);
    }
    return subdirs;
}

}  // namespace

void removeTreeAt(int dirFd, const std::string& name) {
    UniqueFd cur(::openat(dirFd, name.c_str(), kDirRead));
    if (!cur) {
        if (errno == ENOENT) return;
        throwErrno("remove " + name);
    }
    struct Level {
        std::string name;
        std::vector<std::string> pending;
    };
    std::vector<Level> levels;
    levels.push_back({name, scanAndUnlink(cur.get())});
    for (;;) {
        Level& l = levels.back();
        if (!l.pending.empty()) {
            std::string sub = std::move(l.pending.back());
            l.pending.pop_back();
            UniqueFd next(::openat(cur.get(), sub.c_str(), kDirRead));
            if (!next) {
                if (errno == ENOENT) continue;
                throwErrno("remove " + sub);
            }
            cur = std::move(next);
            levels.push_back({sub, scanAndUnlink(cur.get())});
            continue;
        }
        // Anything a concurrent readdir pass missed is caught by one more scan.
        l.pending = scanAndUnlink(cur.get());
        if (!l.pending.empty()) continue;
        if (levels.size() == 1) break;
        // Climb with "..": inside a tree we just descended (no mounts, nothing else
        // writing), ".." is the directory we came from; this keeps one fd whatever the depth.
        UniqueFd up(::openat(cur.get(), "..", kDirRead));
        if (!up) throwErrno("remove " + l.name);
        if (::unlinkat(up.get(), l.name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
            throwErrno("remove " + l.name);
        levels.pop_back();
        cur = std::move(up);
    }
    cur.reset();
    if (::unlinkat(dirFd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
        throwErrno("remove " + name);
}

void wipeDirContents(int dirFd) {
    for (const std::string& sub : scanAndUnlink(dirFd)) removeTreeAt(dirFd, sub);
}

TarExtractor::TarExtractor(int rootFd, std::uint64_t maxBytes, std::uint64_t maxEntries)
    : root_(rootFd), maxBytes_(maxBytes), maxEntries_(maxEntries), isRoot_(::geteuid() == 0) {}

void TarExtractor::extractAll(struct archive* a) {
    const ArchiveApi& ar = archiveApi();
    for (;;) {
        struct archive_entry* e = nullptr;
        int r = ar.read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            const char* msg = ar.error_string(a);
            throw Error(std::string("invalid layer tar: ") + (msg ? msg : "read error"));
        }
        extractEntry(a, e);
    }
}

// Opens (and with `create`, makes, as docker does for a missing parent: 0755, root-owned)
// the directory parts[0..n) below the root. Never follows a symlink: a component that is a
// symlink or not a directory is an error naming the entry. Returns a cached fd (valid until
// the next call), or -1 when !create and the directory is missing.
int TarExtractor::parentFd(const std::vector<std::string>& parts, std::size_t n, bool create,
                           const std::string& entryName) {
    std::size_t shallow = std::min(n, kMaxCached);
    std::size_t k = 0;
    while (k < names_.size() && k < shallow && names_[k] == parts[k]) ++k;
    names_.resize(k);
    fds_.resize(k);
    auto openStep = [&](int base, std::size_t i) -> int {
        const std::string& c = parts[i];
        for (int attempt = 0;; ++attempt) {
            int fd = ::openat(base, c.c_str(), kDirPath);
            if (fd >= 0) return fd;
            int err = errno;
            if (err == ENOENT && create && attempt == 0) {
                // 0755 whatever the process umask (fchmodat: mkdirat's mode is masked).
                if (::mkdirat(base, c.c_str(), 0755) != 0) {
                    if (errno != EEXIST) entryErrno(entryName, "create parent directory", errno);
                } else if (::fchmodat(base, c.c_str(), 0755, 0) != 0) {
                    entryErrno(entryName, "chmod parent directory", errno);
                }
                continue;
            }
            if (!create && (err == ENOENT || err == ENOTDIR || err == ELOOP)) return -1;
            std::vector<std::string> prefix(parts.begin(), parts.begin() + static_cast<long>(i) + 1);
            struct stat st;
            if ((err == ENOTDIR || err == ELOOP) &&
                ::fstatat(base, c.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (S_ISLNK(st.st_mode))
                    throw Error("layer entry " + q(entryName) + " goes through the symbolic link " +
                                q(joinComponents(prefix)) + " (refused: it could point outside the layer)");
                throw Error("layer entry " + q(entryName) + ": " + q(joinComponents(prefix)) +
                            " is not a directory");
            }
            entryErrno(entryName, "open " + q(joinComponents(prefix)), err);
        }
    };
    for (std::size_t i = k; i < shallow; ++i) {
        int base = i == 0 ? root_ : fds_[i - 1].get();
        int fd = openStep(base, i);
        if (fd < 0) return -1;
        names_.push_back(parts[i]);
        fds_.emplace_back(fd);
    }
    int top = shallow == 0 ? root_ : fds_[shallow - 1].get();
    if (n <= kMaxCached) {
        deepKey_.clear();
        deepFd_.reset();
        return top;
    }
    std::string key;
    for (std::size_t i = 0; i < n; ++i) key.append(parts[i]).push_back('/');
    if (deepFd_ && key == deepKey_) return deepFd_.get();
    deepKey_.clear();
    UniqueFd cur;
    for (std::size_t i = kMaxCached; i < n; ++i) {
        int fd = openStep(cur ? cur.get() : top, i);
        if (fd < 0) return -1;
        cur.reset(fd);
    }
    deepFd_ = std::move(cur);
    deepKey_ = std::move(key);
    return deepFd_.get();
}

// Resolves parts[0..n) without touching the cache or creating anything (hardlink targets).
UniqueFd TarExtractor::walkTransient(const std::vector<std::string>& parts, std::size_t n,
                                     const std::string& entryName) {
    UniqueFd cur(::openat(root_, ".", kDirPath));
    if (!cur) throwErrno("open layer root");
    for (std::size_t i = 0; i < n; ++i) {
        UniqueFd next(::openat(cur.get(), parts[i].c_str(), kDirPath));
        if (!next) {
            int err = errno;
            std::vector<std::string> prefix(parts.begin(), parts.begin() + static_cast<long>(i) + 1);
            struct stat st;
            if (err == ENOENT)
                throw Error("layer entry " + q(entryName) + " is a hardlink to " + q(joinComponents(parts)) +
                            ", which is not in the layer");
            if (err == ENOTDIR && ::fstatat(cur.get(), parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISLNK(st.st_mode))
                throw Error("layer entry " + q(entryName) + ": hardlink target goes through the symbolic link " +
                            q(joinComponents(prefix)) + " (refused)");
            entryErrno(entryName, "hardlink target directory " + q(joinComponents(prefix)), err);
        }
        cur = std::move(next);
    }
    return cur;
}

// Makes room for a new entry: a later entry replaces an earlier one, as docker does
// (a directory, even non-empty, is removed when a non-directory takes its name).
void TarExtractor::removeExisting(int dirFd, const std::string& name) {
    struct stat st;
    if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return;
        throwErrno("stat " + name);
    }
    if (S_ISDIR(st.st_mode)) {
        removeTreeAt(dirFd, name);
    } else if (::unlinkat(dirFd, name.c_str(), 0) != 0 && errno != ENOENT) {
        throwErrno("remove " + name);
    }
}

// Returns the end of the data written (the file's size unless it ends in a hole).
std::int64_t TarExtractor::writeFileData(struct archive* a, int fd, const std::string& entryName) {
    const ArchiveApi& ar = archiveApi();
    std::int64_t end = 0;
    for (;;) {
        const void* buf = nullptr;
        std::size_t len = 0;
        la_int64_t off = 0;
        int r = ar.read_data_block(a, &buf, &len, &off);
        if (r == ARCHIVE_EOF) return end;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            const char* msg = ar.error_string(a);
            throw Error("invalid layer tar: entry " + q(entryName) + ": " + (msg ? msg : "read error"));
        }
        const char* p = static_cast<const char*>(buf);
        // pwrite at the block's offset: sparse files (GNU/pax sparse) come with holes.
        while (len > 0) {
            ssize_t w = ::pwrite(fd, p, len, off);
            if (w < 0) {
                if (errno == EINTR) continue;
                entryErrno(entryName, "write", errno);
            }
            p += w;
            off += w;
            len -= static_cast<std::size_t>(w);
        }
        end = std::max<std::int64_t>(end, off);
    }
}

void TarExtractor::applyXattrs(struct archive_entry* e, int fd, int dirFd, const std::string& name,
                               bool isLink, const std::string& entryName) {
    const ArchiveApi& ar = archiveApi();
    if (ar.entry_xattr_reset(e) == 0) return;
    const char* key = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    std::string procPath;
    while (ar.entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
        if (!key || !*key) continue;
        // trusted.* (overlay's own trusted.overlay.opaque/redirect/metacopy...) would let a
        // layer forge overlay state: only whiteout entries may produce those.
        if (std::strncmp(key, "trusted.", 8) == 0) {
            log::debug("layer entry " + q(entryName) + ": ignoring xattr " + key);
            continue;
        }
        int rc;
        if (fd >= 0) {
            rc = ::fsetxattr(fd, key, value, size, 0);
        } else {
            // No fd for symlinks, fifos and devices: the parent's fd through /proc plus an
            // lsetxattr that does not follow the last component.
            if (procPath.empty())
                procPath = "/proc/self/fd/" + std::to_string(dirFd) + "/" + name;
            rc = ::lsetxattr(procPath.c_str(), key, value, size, 0);
        }
        if (rc != 0) {
            int err = errno;
            // As docker: a file system without xattrs, or a namespace refused on this type
            // (user.* on a symlink), is not fatal.
            if (err == ENOTSUP || (err == EPERM && (isLink || fd < 0))) continue;
            entryErrno(entryName, std::string("set xattr ") + key, err);
        }
    }
}

struct TarExtractor::Meta {
    uid_t uid;
    gid_t gid;
    mode_t perm;
    struct timespec ts[2];
};

void TarExtractor::extractEntry(struct archive* a, struct archive_entry* e) {
    const ArchiveApi& ar = archiveApi();
    if (++entries_ > maxEntries_)
        throw Error("layer exceeds the entry limit of " + std::to_string(maxEntries_) + " entries");
    const char* rawName = entryString(ar.entry_pathname(e), ar.entry_pathname_utf8(e));
    if (!rawName) throw Error("invalid layer tar: an entry has no name");
    const std::string entryName = rawName;
    std::vector<std::string> parts = splitEntryPath(entryName);

    Meta m{};
    la_int64_t uid = ar.entry_uid(e), gid = ar.entry_gid(e);
    if (uid < 0 || uid > 0xfffffffe || gid < 0 || gid > 0xfffffffe)
        throw Error("layer entry " + q(entryName) + " has an invalid owner " + std::to_string(uid) + ":" +
                    std::to_string(gid));
    m.uid = static_cast<uid_t>(uid);
    m.gid = static_cast<gid_t>(gid);
    m.perm = ar.entry_perm(e) & 07777;
    auto nsec = [](long v) { return v < 0 ? 0L : v > 999'999'999 ? 999'999'999L : v; };
    m.ts[1] = {static_cast<time_t>(ar.entry_mtime(e)), nsec(ar.entry_mtime_nsec(e))};
    m.ts[0] = ar.entry_atime_is_set(e)
                  ? timespec{static_cast<time_t>(ar.entry_atime(e)), nsec(ar.entry_atime_nsec(e))}
                  : m.ts[1];

    const char* hardlink = entryString(ar.entry_hardlink(e), ar.entry_hardlink_utf8(e));
    mode_t type = ar.entry_filetype(e);

    // Owners first, then modes (chown clears setuid/setgid), then xattrs (chown also clears
    // security.capability), times last.
    auto chownOk = [&](int rc, const char* what) {
        if (rc == 0) return;
        if (!isRoot_ && (errno == EPERM || errno == EINVAL)) return;   // unprivileged: keep ours
        entryErrno(entryName, what, errno);
    };

    if (parts.empty()) {
        // "." or "/": the layer root itself. A directory entry is skipped, as docker skips
        // it (the layer dir's owner and mode stay the store's); anything else (a symlink to
        // /, a file) would replace the root and is refused.
        if (hardlink || type != AE_IFDIR)
            throw Error("layer entry " + q(entryName) + " would replace the layer's root directory");
        return;
    }
    // AUFS metadata at the top (".wh..wh.plnk/...", ".wh..wh.aufs"): skipped, as docker does.
    if (parts.size() > 1 && classifyWhiteout(parts.front()).kind == WhiteoutKind::Meta) return;

    const std::string base = parts.back();
    Whiteout wh = classifyWhiteout(base);
    if (wh.kind == WhiteoutKind::Meta) return;

    // Hardlink targets resolve before the entry's parent: the cache below stays valid.
    UniqueFd linkDir;
    std::vector<std::string> linkParts;
    if (hardlink && wh.kind == WhiteoutKind::None) {
        linkParts = splitEntryPath(hardlink);
        if (linkParts.empty())
            throw Error("layer entry " + q(entryName) + " is a hardlink to the layer's root directory");
        linkDir = walkTransient(linkParts, linkParts.size() - 1, entryName);
    }

    int dir = parentFd(parts, parts.size() - 1, true, entryName);
    const char* bn = base.c_str();

    if (wh.kind == WhiteoutKind::Opaque) {
        // The directory holding ".wh..wh..opq" hides the lower layers' contents.
        UniqueFd d(::openat(dir, ".", kDirRead));
        if (!d || ::fsetxattr(d.get(), "trusted.overlay.opaque", "y", 1, 0) != 0)
            entryErrno(entryName, "mark directory opaque (trusted.overlay.opaque)", errno);
        return;
    }
    if (wh.kind == WhiteoutKind::Whiteout) {
        // overlayfs whiteout: a 0/0 character device, owned by root.
        const char* tn = wh.target.c_str();
        removeExisting(dir, wh.target);
        if (::mknodat(dir, tn, S_IFCHR, makedev(0, 0)) != 0)
            entryErrno(entryName, "create whiteout", errno);
        chownOk(::fchownat(dir, tn, 0, 0, AT_SYMLINK_NOFOLLOW), "chown whiteout");
        return;
    }

    auto createRetry = [&](auto&& create, const char* what) {
        if (create() == 0) return;
        if (errno != EEXIST) entryErrno(entryName, what, errno);
        removeExisting(dir, base);
        if (create() != 0) entryErrno(entryName, what, errno);
    };

    if (hardlink) {
        const std::string& tbase = linkParts.back();
        int rc = ::linkat(linkDir.get(), tbase.c_str(), dir, bn, 0);   // 0: a symlink target is linked, not followed
        if (rc != 0 && errno == EEXIST) {
            struct stat a1, a2;
            if (::fstatat(linkDir.get(), tbase.c_str(), &a1, AT_SYMLINK_NOFOLLOW) == 0 &&
                ::fstatat(dir, bn, &a2, AT_SYMLINK_NOFOLLOW) == 0 && a1.st_dev == a2.st_dev &&
                a1.st_ino == a2.st_ino) {
                rc = 0;   // already that very file
            } else {
                removeExisting(dir, base);
                rc = ::linkat(linkDir.get(), tbase.c_str(), dir, bn, 0);
            }
        }
        if (rc != 0) {
            int err = errno;
            if (err == ENOENT)
                throw Error("layer entry " + q(entryName) + " is a hardlink to " + q(hardlink) +
                            ", which is not in the layer");
            if (err == EPERM)
                throw Error("layer entry " + q(entryName) + " is a hardlink to " + q(hardlink) +
                            ", which is a directory");
            entryErrno(entryName, "hardlink to " + q(hardlink), err);
        }
        // The header's owner and mode apply to the shared inode, as docker does, but only
        // when they differ: a chown, even to the same owner, strips setuid and
        // security.capability from the file the link shares.
        struct stat st;
        if (::fstatat(dir, bn, &st, AT_SYMLINK_NOFOLLOW) != 0) entryErrno(entryName, "stat", errno);
        if (st.st_uid != m.uid || st.st_gid != m.gid)
            chownOk(::fchownat(dir, bn, m.uid, m.gid, AT_SYMLINK_NOFOLLOW), "chown");
        if (!S_ISLNK(st.st_mode) && (st.st_mode & 07777) != m.perm && ::fchmodat(dir, bn, m.perm, 0) != 0)
            entryErrno(entryName, "chmod", errno);
        if (::utimensat(dir, bn, m.ts, AT_SYMLINK_NOFOLLOW) != 0) entryErrno(entryName, "set times", errno);
        return;
    }

    switch (type) {
    case AE_IFREG: {
        la_int64_t sz = ar.entry_size(e);
        if (sz < 0 || static_cast<std::uint64_t>(sz) > maxBytes_)
            throw Error("layer exceeds the unpacked size limit of " + std::to_string(maxBytes_) + " bytes");
        UniqueFd fd;
        // O_EXCL|O_NOFOLLOW: never write through whatever an earlier entry left here.
        createRetry([&] {
            fd.reset(::openat(dir, bn, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
            return fd ? 0 : -1;
        }, "create file");
        la_int64_t end = writeFileData(a, fd.get(), entryName);
        if (end < sz && ::ftruncate(fd.get(), sz) != 0)   // a sparse file's final hole
            entryErrno(entryName, "truncate", errno);
        size_ += sz;
        chownOk(::fchown(fd.get(), m.uid, m.gid), "chown");
        if (::fchmod(fd.get(), m.perm) != 0) entryErrno(entryName, "chmod", errno);
        applyXattrs(e, fd.get(), dir, base, false, entryName);
        if (::futimens(fd.get(), m.ts) != 0) entryErrno(entryName, "set times", errno);
        if (::close(fd.release()) != 0) entryErrno(entryName, "close", errno);
        return;
    }
    case AE_IFDIR: {
        if (::mkdirat(dir, bn, 0700) != 0) {
            if (errno != EEXIST) entryErrno(entryName, "create directory", errno);
            struct stat st;
            if (::fstatat(dir, bn, &st, AT_SYMLINK_NOFOLLOW) != 0) entryErrno(entryName, "stat", errno);
            if (!S_ISDIR(st.st_mode)) {   // a directory keeps its contents; anything else goes
                removeExisting(dir, base);
                if (::mkdirat(dir, bn, 0700) != 0) entryErrno(entryName, "create directory", errno);
            }
        }
        UniqueFd d(::openat(dir, bn, kDirRead));
        if (!d) entryErrno(entryName, "open directory", errno);
        chownOk(::fchown(d.get(), m.uid, m.gid), "chown");
        if (::fchmod(d.get(), m.perm) != 0) entryErrno(entryName, "chmod", errno);
        applyXattrs(e, d.get(), dir, base, false, entryName);
        // Times at the end: entries created inside would change the mtime again.
        dirTimes_.push_back({joinComponents(parts), {m.ts[0], m.ts[1]}});
        return;
    }
    case AE_IFLNK: {
        const char* target = entryString(ar.entry_symlink(e), ar.entry_symlink_utf8(e));
        if (!target || !*target) throw Error("layer entry " + q(entryName) + " is a symlink without a target");
        // Any target text is fine: extraction never follows a symlink.
        createRetry([&] { return ::symlinkat(target, dir, bn); }, "create symlink");
        chownOk(::fchownat(dir, bn, m.uid, m.gid, AT_SYMLINK_NOFOLLOW), "chown");
        applyXattrs(e, -1, dir, base, true, entryName);
        if (::utimensat(dir, bn, m.ts, AT_SYMLINK_NOFOLLOW) != 0) entryErrno(entryName, "set times", errno);
        return;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
        dev_t dev = type == AE_IFIFO ? 0 : ar.entry_rdev(e);
        // Devices are kept as docker keeps them; the runtime's device policy decides use.
        createRetry([&] { return ::mknodat(dir, bn, type | 0600, dev); }, "create device or fifo");
        chownOk(::fchownat(dir, bn, m.uid, m.gid, AT_SYMLINK_NOFOLLOW), "chown");
        // We just made this node and nothing else writes here: it is no symlink to follow.
        if (::fchmodat(dir, bn, m.perm, 0) != 0) entryErrno(entryName, "chmod", errno);
        applyXattrs(e, -1, dir, base, false, entryName);
        if (::utimensat(dir, bn, m.ts, AT_SYMLINK_NOFOLLOW) != 0) entryErrno(entryName, "set times", errno);
        return;
    }
    default:
        throw Error("layer entry " + q(entryName) + " has an unsupported type (0" +
                    std::to_string(type >> 12) + ")");
    }
}

void TarExtractor::complete() {
    // The last entry for a path wins; later records are applied first and earlier skipped.
    std::unordered_set<std::string> done;
    for (auto it = dirTimes_.rbegin(); it != dirTimes_.rend(); ++it) {
        if (!done.insert(it->path).second) continue;
        if (it->path.empty()) {
            if (::futimens(root_, it->ts) != 0) throwErrno("set times of the layer root");
            continue;
        }
        std::vector<std::string> parts = splitEntryPath(it->path);
        int dir = parentFd(parts, parts.size() - 1, false, it->path);
        if (dir < 0) continue;   // removed by a later entry
        struct stat st;
        const char* bn = parts.back().c_str();
        // Only if it is still a directory (a later entry may have replaced it).
        if (::fstatat(dir, bn, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) continue;
        if (::utimensat(dir, bn, it->ts, AT_SYMLINK_NOFOLLOW) != 0)
            entryErrno(it->path, "set times", errno);
    }
    names_.clear();
    fds_.clear();
    deepFd_.reset();
    deepKey_.clear();
    dirTimes_.clear();
    // One flush for the whole layer instead of one fsync per file.
    if (::syncfs(root_) != 0) throwErrno("sync layer");
}

}  // namespace mydock::image::unpack
