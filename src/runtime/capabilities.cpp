// Capability names, docker's set arithmetic, and the raw capget/capset calls the child makes.
#include "runtime/capabilities.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "common/error.h"
#include "common/log.h"

namespace mydock::runtime::caps {

namespace {

// Index = capability number (include/uapi/linux/capability.h).
constexpr std::array<const char*, 41> kNames = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",  "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",          "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",       "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",     "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",     "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",      "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",   "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",     "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",    "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

bool isAll(std::string_view s) { return upper(s) == "ALL" || upper(s) == "CAP_ALL"; }

// docker's normalizeLegacyCapabilities: "CAP_" prefixed, upper case, known to us.
int parseOrThrow(const std::string& s) {
    auto c = fromName(s);
    if (!c) {
        std::string n = upper(s);
        if (n.rfind("CAP_", 0) != 0) n = "CAP_" + n;
        throw Error("unknown capability: \"" + n + "\"");
    }
    return *c;
}

int readLastCap() {
    int fd = ::open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return CAP_LAST_CAP;
    char buf[16] = {};
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return CAP_LAST_CAP;
    int v = std::atoi(buf);
    return (v > 0 && v < 64) ? v : CAP_LAST_CAP;
}

}  // namespace

int lastCap() {
    static const int v = readLastCap();
    return v;
}

std::string name(int cap) {
    if (cap >= 0 && cap < static_cast<int>(kNames.size())) return kNames[cap];
    return "CAP_" + std::to_string(cap);
}

std::optional<int> fromName(std::string_view n) {
    std::string u = upper(n);
    if (u.rfind("CAP_", 0) != 0) u = "CAP_" + u;
    for (std::size_t i = 0; i < kNames.size(); ++i)
        if (u == kNames[i]) return static_cast<int>(i);
    return std::nullopt;
}

std::uint64_t allKnownMask() {
    int last = lastCap();
    return last >= 63 ? ~0ULL : ((1ULL << (last + 1)) - 1);
}

std::uint64_t ownBoundingSet() {
    std::uint64_t mask = 0;
    for (int c = 0; c <= lastCap(); ++c) {
        // PR_CAPBSET_READ: 1 when `c` is in our bounding set, so we never ask for more.
        if (::prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1) mask |= 1ULL << c;
    }
    return mask;
}

std::uint64_t computeMask(const std::vector<std::string>& add,
                          const std::vector<std::string>& drop, bool privileged,
                          std::uint64_t available) {
    const std::uint64_t all = allKnownMask() & available;
    if (privileged) return all;

    bool addAll = false, dropAll = false;
    std::uint64_t addMask = 0, dropMask = 0;
    for (const auto& s : add) {
        if (isAll(s)) addAll = true;
        else addMask |= 1ULL << parseOrThrow(s);
    }
    for (const auto& s : drop) {
        if (isAll(s)) dropAll = true;
        else dropMask |= 1ULL << parseOrThrow(s);
    }

    std::uint64_t mask;
    if (addAll) mask = allKnownMask() & ~dropMask;
    else if (dropAll) mask = addMask;
    else mask = (kDefaultMask & ~dropMask) | addMask;

    std::uint64_t missing = mask & ~available & allKnownMask();
    if (missing != 0 && !addAll) {
        for (const auto& n : names(missing))
            log::warn(n + " is not in mydock's own bounding set; the container won't get it");
    }
    return mask & all;
}

std::vector<std::string> names(std::uint64_t mask) {
    std::vector<std::string> out;
    for (int c = 0; c < 64; ++c)
        if (mask & (1ULL << c)) out.push_back(name(c));
    return out;
}

SysFailure dropBoundingSet(std::uint64_t keep) noexcept {
    for (int c = 0; c < 64; ++c) {
        if (keep & (1ULL << c)) continue;
        // PR_CAPBSET_DROP: no later execve (even of a setuid-root or file-cap binary) can
        // regain a cap outside the container's set. EINVAL: past the kernel's last cap.
        if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
            if (errno == EINVAL) break;
            return {errno, "prctl(PR_CAPBSET_DROP)"};
        }
    }
    return {};
}

SysFailure applyCapabilities(std::uint64_t mask) noexcept {
    __user_cap_header_struct hdr{};
    hdr.version = _LINUX_CAPABILITY_VERSION_3;
    hdr.pid = 0;
    __user_cap_data_struct data[2]{};
    data[0].effective = data[0].permitted = static_cast<std::uint32_t>(mask);
    data[1].effective = data[1].permitted = static_cast<std::uint32_t>(mask >> 32);
    // inheritable stays 0: nothing passes through a later execve by the inheritable route
    // (CVE-2022-24769 in moby).
    // capset on ourselves: raw syscall, the child is one thread and libcap isn't needed.
    if (::syscall(SYS_capset, &hdr, data) < 0) return {errno, "capset"};
    // Clear the ambient set so a non-root execve gains nothing (EINVAL: kernel < 4.3).
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return {errno, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)"};
    return {};
}

}  // namespace mydock::runtime::caps
