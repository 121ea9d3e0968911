// The container's file systems between the overlay and the root switch: /proc, /dev and its
// nodes, /dev/pts, /dev/shm, /dev/mqueue, /sys, /sys/fs/cgroup, the /etc files, the user's
// mounts, the init binary; then pivot_root. Runs in the clone child.
//
// Every mount target is resolved inside the new root with openat2(RESOLVE_IN_ROOT), and the
// mount goes through /proc/self/fd/N: a symlink in the image (say /dev -> /etc, or
// /data -> /) can never redirect a mount onto the host's tree (runc CVE-2021-30465 class).
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/unique_fd.h"
#include "runtime/child-internal.h"

namespace mydock::runtime::detail {

namespace {

int openat2InRoot(int rootFd, const std::string& rel, int flags) {
    struct open_how how {};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    // IN_ROOT: "..", absolute symlinks and "/" stay inside the container's root.
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    for (;;) {
        long fd = ::syscall(SYS_openat2, rootFd, rel.empty() ? "." : rel.c_str(), &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN) return static_cast<int>(fd);
    }
}

// Lexically cleaned components of an absolute container path ("." dropped, ".." popped).
std::vector<std::string> components(const std::string& path) {
    std::vector<std::string> out;
    std::stringstream ss(path);
    std::string part;
    while (std::getline(ss, part, '/')) {
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            if (!out.empty()) out.pop_back();
            continue;
        }
        out.push_back(part);
    }
    return out;
}

enum class Kind { Dir, File };

// Opens (O_PATH) `path` inside the root, creating missing directories and, for Kind::File, an
// empty final file: the mount point for a bind of a file.
UniqueFd ensureInRoot(int rootFd, const std::string& path, Kind kind, mode_t dirMode = 0755) {
    auto comps = components(path);
    std::string prefix;
    for (std::size_t i = 0; i < comps.size(); ++i) {
        std::string parent = prefix;
        prefix += (prefix.empty() ? "" : "/") + comps[i];
        bool last = i + 1 == comps.size();
        int fd = openat2InRoot(rootFd, prefix, O_PATH);
        if (fd >= 0) {
            if (last) return UniqueFd(fd);
            ::close(fd);
            continue;
        }
        if (errno != ENOENT) fail("mount", "resolve " + path + " in the container", errno);
        UniqueFd pfd(openat2InRoot(rootFd, parent, O_PATH | O_DIRECTORY));
        if (!pfd) fail("mount", "resolve " + (parent.empty() ? "/" : "/" + parent) + " in the container", errno);
        if (last && kind == Kind::File) {
            int f = ::openat(pfd.get(), comps[i].c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
            if (f < 0 && errno != EEXIST) fail("mount", "create mount point " + path, errno);
            if (f >= 0) ::close(f);
        } else if (::mkdirat(pfd.get(), comps[i].c_str(), dirMode) != 0 && errno != EEXIST) {
            fail("mount", "create directory " + path, errno);
        }
        fd = openat2InRoot(rootFd, prefix, O_PATH);
        if (fd < 0) fail("mount", "resolve " + path + " in the container", errno);
        if (last) return UniqueFd(fd);
        ::close(fd);
    }
    return UniqueFd(openat2InRoot(rootFd, "", O_PATH | O_DIRECTORY));
}

std::string fdPath(const UniqueFd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }

void mountAt(int rootFd, const std::string& dst, const char* source, const char* type, unsigned long flags,
             const char* data, Kind kind = Kind::Dir) {
    UniqueFd target = ensureInRoot(rootFd, dst, kind);
    if (::mount(source, fdPath(target).c_str(), type, flags, data) != 0)
        fail("mount", std::string("mount ") + (type ? type : source) + " on " + dst, errno);
}

void bindAt(int rootFd, const std::string& src, const std::string& dst, bool readOnly, bool recursive = true) {
    struct stat st;
    if (::stat(src.c_str(), &st) != 0) fail("mount", "bind source " + src, errno);
    UniqueFd target = ensureInRoot(rootFd, dst, S_ISDIR(st.st_mode) ? Kind::Dir : Kind::File);
    std::string t = fdPath(target);
    check(::mount(src.c_str(), t.c_str(), nullptr, MS_BIND | (recursive ? MS_REC : 0), nullptr), "mount",
          "bind " + src + " on " + dst);
    if (readOnly) {
        // A bind mount takes the source's flags; read-only needs a second, remounting call.
        // Re-open: the fd still names the covered directory, not the new mount.
        UniqueFd now = ensureInRoot(rootFd, dst, S_ISDIR(st.st_mode) ? Kind::Dir : Kind::File);
        check(::mount(nullptr, fdPath(now).c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr), "mount",
              "remount " + dst + " read-only");
    }
}

void makeDevices(int rootFd) {
    struct Node { const char* name; unsigned maj, min; };
    static const Node nodes[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
                                 {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
    UniqueFd dev(openat2InRoot(rootFd, "dev", O_PATH | O_DIRECTORY));
    if (!dev) fail("mount", "open /dev in the container", errno);
    for (const Node& n : nodes) {
        // mknod on our fresh tmpfs: the image's own device nodes never become usable.
        if (::mknodat(dev.get(), n.name, S_IFCHR | 0666, makedev(n.maj, n.min)) == 0) {
            ::fchmodat(dev.get(), n.name, 0666, 0);  // undo the umask
            continue;
        }
        if (errno != EPERM) fail("mount", std::string("mknod /dev/") + n.name, errno);
        // Without CAP_MKNOD (a future user namespace): bind the host's node instead.
        bindAt(rootFd, std::string("/dev/") + n.name, std::string("/dev/") + n.name, false, false);
    }
    struct Link { const char* name; const char* target; };
    static const Link links[] = {{"ptmx", "pts/ptmx"}, {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
                                 {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
                                 {"core", "/proc/kcore"}};
    for (const Link& l : links)
        if (::symlinkat(l.target, dev.get(), l.name) != 0 && errno != EEXIST)
            fail("mount", std::string("symlink /dev/") + l.name, errno);
}

bool hostCgroupIsV2() {
    std::string mi;
    if (!fs::readFileIfExists("/proc/self/mountinfo", mi)) return false;
    std::stringstream ss(mi);
    std::string line;
    while (std::getline(ss, line))
        if (line.find(" /sys/fs/cgroup ") != std::string::npos && line.find(" - cgroup2 ") != std::string::npos)
            return true;
    return false;
}

// v1 hierarchies mounted on the host: their super options ("memory", "cpu,cpuacct",
// "name=systemd") and the directory name under /sys/fs/cgroup.
std::vector<std::pair<std::string, std::string>> hostV1Hierarchies() {
    std::vector<std::pair<std::string, std::string>> out;
    std::string mi;
    if (!fs::readFileIfExists("/proc/self/mountinfo", mi)) return out;
    std::stringstream ss(mi);
    std::string line;
    while (std::getline(ss, line)) {
        auto sep = line.find(" - cgroup ");
        if (sep == std::string::npos) continue;
        std::stringstream ls(line.substr(0, sep));
        std::string f, mp;
        for (int i = 0; i < 5 && ls >> f; ++i)
            if (i == 4) mp = f;
        if (mp.rfind("/sys/fs/cgroup/", 0) != 0) continue;
        std::stringstream rs(line.substr(sep + 10));
        std::string src, opts;
        rs >> src >> opts;
        std::string keep;
        std::stringstream os(opts);
        std::string o;
        while (std::getline(os, o, ','))
            if (o != "rw" && o != "ro" && o.rfind("relatime", 0) != 0) keep += (keep.empty() ? "" : ",") + o;
        out.emplace_back(keep, mp.substr(15));
    }
    return out;
}

void mountCgroupView(int rootFd) {
    const unsigned long ro = MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY;
    if (hostCgroupIsV2()) {
        // In our cgroup namespace this shows the container's own cgroup as the root.
        mountAt(rootFd, "/sys/fs/cgroup", "cgroup", "cgroup2", ro, nullptr);
        return;
    }
    mountAt(rootFd, "/sys/fs/cgroup", "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=755");
    for (const auto& [opts, dir] : hostV1Hierarchies()) {
        if (dir.find('/') != std::string::npos || dir.empty()) continue;
        UniqueFd t = ensureInRoot(rootFd, "/sys/fs/cgroup/" + dir, Kind::Dir);
        // Best effort: a hierarchy the kernel will not mount here is left out, as runc does.
        ::mount("cgroup", fdPath(t).c_str(), "cgroup", ro, opts.c_str());
    }
    UniqueFd t = ensureInRoot(rootFd, "/sys/fs/cgroup", Kind::Dir);
    check(::mount(nullptr, fdPath(t).c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV,
                  nullptr), "mount", "remount /sys/fs/cgroup read-only");
}

}  // namespace

void prepareRootfs(const ContainerSpec& spec, const std::string& root) {
    UniqueFd rootFd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!rootFd) fail("mount", "open " + root, errno);
    int r = rootFd.get();

    // Our own proc: it shows only the container's PID namespace.
    mountAt(r, "/proc", "proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, nullptr);
    // A fresh /dev: only the nodes below exist, whatever the image ships.
    mountAt(r, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
    makeDevices(r);
    // newinstance: the container's ptys are its own; /dev/pts/0 is its first.
    mountAt(r, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    mountAt(r, "/dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=1777,size=65536k");
    mountAt(r, "/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, nullptr);
    {
        UniqueFd t = ensureInRoot(r, "/sys", Kind::Dir);
        const unsigned long fl = MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY;
        if (::mount("sysfs", fdPath(t).c_str(), "sysfs", fl, nullptr) != 0) {
            // sysfs refuses a new mount outside a network namespace we own (--network host
            // under a user namespace): a read-only recursive bind of the host's /sys instead.
            if (errno != EPERM && errno != EBUSY) fail("mount", "mount sysfs on /sys", errno);
            bindAt(r, "/sys", "/sys", true);
        }
    }
    mountCgroupView(r);

    // Per-container files written by the parent.
    for (const char* name : {"hostname", "hosts", "resolv.conf"})
        bindAt(r, fs::join(spec.containerDir, name), std::string("/etc/") + name, false, false);

    for (const MountSpec& m : spec.mounts) {
        if (m.type == MountSpec::Type::Bind) {
            bindAt(r, m.source, m.destination, m.readOnly);
        } else {
            std::string data = "mode=1777";
            if (!m.options.empty()) data += "," + m.options;
            unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC | (m.readOnly ? MS_RDONLY : 0);
            mountAt(r, m.destination, "tmpfs", "tmpfs", fl, data.c_str());
        }
    }
    if (spec.init) bindAt(r, spec.initPath, kInitPathInContainer, true, false);
}

void pivotInto(const std::string& root) {
    // pivot_root, not chroot: after chroot the host's tree is still our mount namespace's root
    // and a process with CAP_SYS_CHROOT escapes with chroot(".."); after pivot_root + detach
    // the old root is unreachable from the container.
    check(::chdir(root.c_str()), "pivot_root", "chdir " + root);
    // pivot_root(".", "."): the old root is stacked under the new one, no put_old dir needed.
    check(::syscall(SYS_pivot_root, ".", "."), "pivot_root", "pivot_root to " + root);
    // Detach the old root (now on top of "."): the host's tree leaves our namespace.
    check(::umount2(".", MNT_DETACH), "pivot_root", "detach the old root");
    check(::chdir("/"), "pivot_root", "chdir /");
}

void finishRootfs(const ContainerSpec& spec) {
    if (spec.readonlyRootfs) {
        // --read-only: the overlay itself read-only; /dev, /proc, tmpfs and volumes keep their own.
        unsigned long fl = MS_BIND | MS_REMOUNT | MS_RDONLY | (spec.security.privileged ? 0 : MS_NODEV);
        check(::mount(nullptr, "/", nullptr, fl, nullptr), "mount", "remount / read-only");
    }
}

}  // namespace mydock::runtime::detail
