// Linux capabilities: names <-> numbers, docker's default set, --cap-add/--cap-drop/
// --privileged, and the child-side calls that apply a mask. Raw capget/capset syscalls
// (linux/capability.h, version 3): no libcap.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/sys_failure.h"

namespace mydock::runtime {

namespace caps {

// The highest capability number the running kernel knows (/proc/sys/kernel/cap_last_cap;
// 40 on 5.9+). Read once.
int lastCap();

// "CAP_NET_ADMIN" for 12; "CAP_<n>" for a number this build has no name for.
std::string name(int cap);

// Case-insensitive, with or without "CAP_": "net_admin", "CAP_NET_ADMIN", "Net_Admin".
// nullopt for unknown names and for "ALL".
std::optional<int> fromName(std::string_view name);

// docker's default 14: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP
// SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE = 0x00000000a80425fb.
inline constexpr std::uint64_t kDefaultMask = 0xa80425fbULL;

// Every capability 0..lastCap().
std::uint64_t allKnownMask();

// The calling process's bounding set (PR_CAPBSET_READ for 0..lastCap()): what mydock can
// hand on at most (this host lacks CAP_SYS_RESOURCE, for instance).
std::uint64_t ownBoundingSet();

// docker's TweakCapabilities: privileged -> all; "ALL" in adds -> all minus drops;
// "ALL" in drops -> only adds; else default - drops + adds. The result is limited to
// `available` (normally ownBoundingSet()): a cap we don't hold is dropped with a warning.
// Throws mydock::Error("unknown capability: \"CAP_FOO\"") for bad names.
std::uint64_t computeMask(const std::vector<std::string>& add,
                          const std::vector<std::string>& drop, bool privileged,
                          std::uint64_t available);

// "CAP_CHOWN,CAP_KILL,..." (for messages and inspect).
std::vector<std::string> names(std::uint64_t mask);

// CHILD SIDE (noexcept, no malloc):
// Drops every cap not in `keep` from the bounding set (PR_CAPBSET_DROP; needs CAP_SETPCAP).
SysFailure dropBoundingSet(std::uint64_t keep) noexcept;
// capset effective = permitted = mask, inheritable = 0; then clears the ambient set.
SysFailure applyCapabilities(std::uint64_t mask) noexcept;

}  // namespace caps
}  // namespace mydock::runtime
