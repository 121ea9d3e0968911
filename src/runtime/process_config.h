// How docker turns an image config plus `run` flags into the container's process: argv
// (Entrypoint/Cmd rules), environment, user/group/supplementary groups, and the resource
// flags' units. Pure functions (no root, no kernel state); errors are mydock::Error (125)
// with docker's messages.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mydock::runtime {

// ---- argv ---------------------------------------------------------------------------------
// final = (entrypointFlag ? [*entrypointFlag] (image Cmd then dropped) : imageEntrypoint)
//       + (userArgs non-empty ? userArgs : (entrypointFlag ? [] : imageCmd)).
// `--entrypoint ""` (an engaged empty string) clears the entrypoint. The flag is one argv
// element, never split (as docker). Empty result: Error("No command specified").
std::vector<std::string> resolveArgv(const std::vector<std::string>& imageEntrypoint,
                                     const std::vector<std::string>& imageCmd,
                                     const std::optional<std::string>& entrypointFlag,
                                     const std::vector<std::string>& userArgs);

// ---- environment --------------------------------------------------------------------------
inline constexpr const char* kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Looks a variable up in the caller's environment (default: ::getenv).
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> lookupProcessEnv(const std::string& key);

// docker's --env-file format: one KEY=VAL a line (value taken verbatim), a bare KEY takes the
// caller's value when set (else the line is skipped), '#' comment lines and blank lines
// skipped, leading whitespace trimmed. Errors (with `fileName` and line) for an empty name
// ("=x"), a name containing whitespace, or invalid UTF-8.
std::vector<std::string> parseEnvFile(std::string_view contents, const std::string& fileName,
                                      const EnvLookup& lookup = lookupProcessEnv);
// Reads and parses a file (Error "open FILE: No such file or directory" when missing).
std::vector<std::string> readEnvFile(const std::string& path,
                                     const EnvLookup& lookup = lookupProcessEnv);

// One -e/--env value: "K=V" as is; bare "K" -> "K=<caller's value>" when set, else "K"
// (docker keeps it: it then unsets K from the image's env). Error for "" or "=V".
std::string expandEnvFlag(const std::string& value, const EnvLookup& lookup = lookupProcessEnv);

// The user's env list: every --env-file's lines (in order), then the -e values (in order).
std::vector<std::string> userEnv(const std::vector<std::string>& envFiles,
                                 const std::vector<std::string>& envFlags,
                                 const EnvLookup& lookup = lookupProcessEnv);

// The container's environment as docker builds it: PATH=<default>, HOSTNAME=<hostname>,
// TERM=xterm (tty), then the user's entries and the image's entries not named by the user,
// each replacing a same-named earlier entry in place (later wins); a bare "K" from the user
// removes K. HOME is not added here (see addHomeIfMissing, after the user is resolved).
std::vector<std::string> buildEnv(const std::vector<std::string>& imageEnv,
                                  const std::vector<std::string>& userEnvList,
                                  const std::string& hostname, bool tty);

// Appends HOME=<home> unless the env already has HOME (runc does this after resolving the
// user; `home` is the passwd entry's, "/" when none).
void addHomeIfMissing(std::vector<std::string>& env, const std::string& home);

// Value of `key` in a "K=V" list (the last one), or nullopt.
std::optional<std::string> envValue(const std::vector<std::string>& env, std::string_view key);

// ---- user ---------------------------------------------------------------------------------
struct PasswdEntry {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string home;
    std::string shell;
};
struct GroupEntry {
    std::string name;
    gid_t gid = 0;
    std::vector<std::string> members;
};
// Lenient parsers: blank, '#' and malformed lines (bad numbers, too few fields) are skipped.
std::vector<PasswdEntry> parsePasswd(std::string_view contents);
std::vector<GroupEntry> parseGroup(std::string_view contents);

struct ResolvedUser {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> additionalGids;  // primary gid first, then /etc/group memberships
    std::string home = "/";
    std::string name;                   // empty when the uid has no passwd entry
};

// Resolves a docker -u / image User value: "", "name", "uid", "name:group", "uid:gid",
// "name:gid", "uid:group" against passwd/group contents (runc's GetExecUser rules):
// - "" means root (uid 0).
// - a numeric user always means that uid; not in passwd is fine (gid 0, home "/").
// - a name not in passwd: Error("unable to find user NAME: no matching entries in passwd file").
// - with an explicit group (name or number; a name must exist: "unable to find group NAME:
//   no matching entries in group file"), it is the primary gid and no /etc/group
//   memberships are added; otherwise gid = passwd's and the memberships of the user's name
//   become supplementary groups.
// - ids must be within 0..2147483647.
// Missing files: pass std::nullopt (then only numeric ids and "" work, like runc).
ResolvedUser resolveUser(const std::string& spec, const std::optional<std::string>& passwd,
                         const std::optional<std::string>& group);

// Same, reading etc/passwd and etc/group under `rootFd` (a directory fd of the container's
// root, e.g. opened O_PATH) with openat2(RESOLVE_IN_ROOT): a symlink in the image can't point
// the lookup at the host's files. Files over 4 MiB are refused. Works from the parent (fd of
// the merged dir) or in the child after pivot_root (open("/")).
ResolvedUser resolveUserInRoot(const std::string& spec, int rootFd);

// ---- resources ----------------------------------------------------------------------------
// docker's RAMInBytes: "1048576", "512k", "64m", "1g", "1.5g", "64MB", "64MiB", "2 GB"
// (binary multipliers, case-insensitive). Error("invalid size: 'x'") otherwise.
std::int64_t parseMemorySize(std::string_view s);
// For -m/--memory: parseMemorySize and docker's floor ("Minimum memory limit allowed is 6MB").
std::int64_t parseMemoryLimit(std::string_view s);
inline constexpr std::int64_t kMinMemoryLimit = 6 * 1024 * 1024;

// --cpus "0.5" -> 500000000 nano-CPUs (up to 9 decimals). Error for junk, negative, or
// more than `hostCpus` ("Range of CPUs is from 0.01 to N.00, as there are only N CPUs
// available"); hostCpus <= 0 skips that check.
std::int64_t parseCpus(std::string_view s, int hostCpus = 0);
struct CpuQuota {
    std::int64_t quotaUs = 0;
    std::int64_t periodUs = 100000;
};
// docker: period 100ms, quota = nanoCpus * period / 1e9 (minimum 1000us as the kernel wants).
CpuQuota cpuQuotaFromNano(std::int64_t nanoCpus);

}  // namespace mydock::runtime
