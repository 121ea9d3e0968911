// The flags a bind remount must repeat: the kernel refuses (EPERM) a read-only remount that
// would drop nosuid/nodev/noexec/atime flags locked by a more privileged mounter.
#pragma once

#include <sys/mount.h>
#include <sys/statvfs.h>

namespace mydock::runtime {

inline unsigned long lockedMountFlags(const struct statvfs& sv) noexcept {
    unsigned long fl = 0;
    if (sv.f_flag & ST_NOSUID) fl |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) fl |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) fl |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME) fl |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME) fl |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME) fl |= MS_RELATIME;
    return fl;
}

}  // namespace mydock::runtime
