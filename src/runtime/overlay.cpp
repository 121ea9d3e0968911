// The container's root: an overlayfs of the image's layers (read-only lowers) plus the
// container's own upper/work directories. Runs in the clone child, inside its mount namespace,
// so the mount never appears on the host and dies with the namespace.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/fs.h"
#include "common/unique_fd.h"
#include "runtime/child-internal.h"

namespace mydock::runtime::detail {

namespace {

// The new mount API (fsopen + "lowerdir+" per layer, Linux 6.8+) has no option-string limit,
// so any number of layers fits. Returns false when the kernel lacks it (then we fall back).
bool mountWithFsopen(const ContainerSpec& spec, const std::string& upper, const std::string& work,
                     const std::string& target) {
    UniqueFd fsfd(::fsopen("overlay", FSOPEN_CLOEXEC));
    if (!fsfd) {
        if (errno == ENOSYS) return false;
        fail("mount", "fsopen(overlay)", errno);
    }
    // lowerdir+ appends one layer below the ones given so far: topmost first.
    for (auto it = spec.lowerDirs.rbegin(); it != spec.lowerDirs.rend(); ++it) {
        if (::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "lowerdir+", it->c_str(), 0) != 0) {
            if (errno == EINVAL && it == spec.lowerDirs.rbegin()) return false;  // pre-6.8 overlay
            fail("mount", "overlay lowerdir+ " + *it, errno);
        }
    }
    if (!upper.empty()) {
        check(::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "upperdir", upper.c_str(), 0), "mount",
              "overlay upperdir " + upper);
        check(::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "workdir", work.c_str(), 0), "mount",
              "overlay workdir " + work);
    }
    check(::fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0), "mount", "create overlay superblock");
    // nodev: device nodes shipped in an image must not be usable (only /dev's tmpfs has them).
    unsigned attrs = spec.security.privileged ? 0 : MOUNT_ATTR_NODEV;
    UniqueFd mfd(check(::fsmount(fsfd.get(), FSMOUNT_CLOEXEC, attrs), "mount", "fsmount overlay"));
    check(::move_mount(mfd.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH), "mount",
          "move overlay to " + target);
    return true;
}

// Older kernels: one option string of at most a page. Short names keep it small: a
// per-container directory of symlinks "l/0", "l/1", ... and relative paths after chdir there.
void mountWithOptionString(const ContainerSpec& spec, const std::string& upper, const std::string& work,
                           const std::string& target) {
    std::string links = fs::join(spec.containerDir, "l");
    ::mkdir(links.c_str(), 0700);
    std::string lower;
    for (std::size_t i = spec.lowerDirs.size(); i-- > 0;) {
        std::string name = std::to_string(i);
        std::string link = fs::join(links, name);
        ::unlink(link.c_str());
        check(::symlink(spec.lowerDirs[i].c_str(), link.c_str()), "mount", "symlink " + link);
        if (!lower.empty()) lower += ':';
        lower += name;
    }
    std::string data = "lowerdir=" + lower;
    if (!upper.empty()) data += ",upperdir=" + upper + ",workdir=" + work;
    if (data.size() >= 4096) fail("mount", "overlay options too long (" + std::to_string(spec.lowerDirs.size()) + " layers)", E2BIG);
    // The relative lowerdir names are resolved against our cwd at mount time.
    check(::chdir(links.c_str()), "mount", "chdir " + links);
    unsigned long flags = spec.security.privileged ? 0 : MS_NODEV;
    check(::mount("overlay", target.c_str(), "overlay", flags, data.c_str()), "mount", "overlay on " + target);
    check(::chdir("/"), "mount", "chdir /");
}

}  // namespace

void mountOverlay(const ContainerSpec& spec, const std::string& target) {
    if (spec.lowerDirs.empty()) fail("mount", "image has no layers", EINVAL);
    std::string upper = fs::join(spec.containerDir, "upper");
    std::string work = fs::join(spec.containerDir, "work");
    // A single lower and no upper would be refused by overlay; we always have an upper.
    if (!mountWithFsopen(spec, upper, work, target)) mountWithOptionString(spec, upper, work, target);
}

}  // namespace mydock::runtime::detail
