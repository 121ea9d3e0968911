// docker's rules for argv, env, user and resource units (see process_config.h).
#include "runtime/process_config.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include "common/error.h"
#include "common/fs.h"
#include "common/unique_fd.h"

namespace mydock::runtime {

namespace {

constexpr std::int64_t kMaxId = 2147483647;

std::string_view trimLeft(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    return s;
}
std::string_view trim(std::string_view s) {
    s = trimLeft(s);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// Splits on '\n'; a trailing "\r" is kept (docker keeps values verbatim).
std::vector<std::string_view> lines(std::string_view s) {
    std::vector<std::string_view> out;
    while (!s.empty()) {
        auto nl = s.find('\n');
        out.push_back(s.substr(0, nl));
        if (nl == std::string_view::npos) break;
        s.remove_prefix(nl + 1);
    }
    return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    for (;;) {
        auto p = s.find(sep);
        out.push_back(s.substr(0, p));
        if (p == std::string_view::npos) break;
        s.remove_prefix(p + 1);
    }
    return out;
}

// A decimal id; nullopt for anything else ("", "+1", "1a", "99999999999").
std::optional<std::int64_t> parseId(std::string_view s) {
    if (s.empty() || s.size() > 12) return std::nullopt;
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    // Up to 2^32-2 ((uid_t)-1 means "no change" to the kernel).
    if (ec != std::errc() || p != s.data() + s.size() || v < 0 || v > 4294967294LL) return std::nullopt;
    return v;
}

bool isNumeric(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool validUtf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n;
        if (c < 0x80) n = 0;
        else if ((c >> 5) == 0x6) n = 1;
        else if ((c >> 4) == 0xe) n = 2;
        else if ((c >> 3) == 0x1e) n = 3;
        else return false;
        if (s.size() - i <= n) return false;  // truncated sequence
        for (std::size_t k = 1; k <= n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
        i += n + 1;
    }
    return true;
}

std::string_view keyOf(std::string_view kv) { return kv.substr(0, kv.find('=')); }

}  // namespace

// ---- argv ---------------------------------------------------------------------------------

std::vector<std::string> resolveArgv(const std::vector<std::string>& imageEntrypoint,
                                     const std::vector<std::string>& imageCmd,
                                     const std::optional<std::string>& entrypointFlag,
                                     const std::vector<std::string>& userArgs) {
    std::vector<std::string> argv;
    if (entrypointFlag) {
        if (!entrypointFlag->empty()) argv.push_back(*entrypointFlag);
    } else {
        argv = imageEntrypoint;
    }
    if (!userArgs.empty()) argv.insert(argv.end(), userArgs.begin(), userArgs.end());
    else if (!entrypointFlag) argv.insert(argv.end(), imageCmd.begin(), imageCmd.end());
    if (argv.empty()) throw Error("No command specified");
    return argv;
}

// ---- environment --------------------------------------------------------------------------

std::optional<std::string> lookupProcessEnv(const std::string& key) {
    if (const char* v = ::getenv(key.c_str())) return std::string(v);
    return std::nullopt;
}

std::vector<std::string> parseEnvFile(std::string_view contents, const std::string& fileName,
                                      const EnvLookup& lookup) {
    std::vector<std::string> out;
    int lineNo = 0;
    for (auto raw : lines(contents)) {
        ++lineNo;
        // A UTF-8 byte order mark on the first line is not part of the name.
        if (lineNo == 1 && raw.substr(0, 3) == "\xEF\xBB\xBF") raw.remove_prefix(3);
        if (!validUtf8(raw))
            throw Error("env file " + fileName + " contains invalid utf8 bytes at line " +
                        std::to_string(lineNo));
        std::string_view line = trimLeft(raw);
        if (line.empty() || line.front() == '#') continue;
        auto eq = line.find('=');
        std::string_view name = line.substr(0, eq);
        if (name.empty())
            throw Error("no variable name on line '" + std::string(line) + "'");
        if (std::any_of(name.begin(), name.end(),
                        [](char c) { return std::isspace(static_cast<unsigned char>(c)); }))
            throw Error("variable '" + std::string(name) + "' contains whitespaces");
        if (eq != std::string_view::npos) {
            out.emplace_back(line);  // the value is taken verbatim
        } else {
            std::string key(name);
            if (auto v = lookup ? lookup(key) : std::nullopt) out.push_back(key + "=" + *v);
        }
    }
    return out;
}

std::vector<std::string> readEnvFile(const std::string& path, const EnvLookup& lookup) {
    std::string data;
    try {
        if (!fs::readFileIfExists(path, data))
            throw Error("open " + path + ": no such file or directory");
    } catch (const Error&) {
        rethrowWithContext("reading env file");
    }
    return parseEnvFile(data, path, lookup);
}

std::string expandEnvFlag(const std::string& value, const EnvLookup& lookup) {
    auto eq = value.find('=');
    if (value.empty() || eq == 0) throw Error("invalid environment variable: " + value);
    if (eq != std::string::npos) return value;
    if (auto v = lookup ? lookup(value) : std::nullopt) return value + "=" + *v;
    return value;
}

std::vector<std::string> userEnv(const std::vector<std::string>& envFiles,
                                 const std::vector<std::string>& envFlags,
                                 const EnvLookup& lookup) {
    std::vector<std::string> out;
    for (const auto& f : envFiles) {
        auto v = readEnvFile(f, lookup);
        out.insert(out.end(), v.begin(), v.end());
    }
    for (const auto& e : envFlags) out.push_back(expandEnvFlag(e, lookup));
    return out;
}

std::vector<std::string> buildEnv(const std::vector<std::string>& imageEnv,
                                  const std::vector<std::string>& userEnvList,
                                  const std::string& hostname, bool tty) {
    // docker: Config.Env = the user's entries + image entries whose key the user didn't name;
    // then the daemon's defaults (PATH, HOSTNAME, TERM) are replaced or appended to.
    std::vector<std::string> overrides = userEnvList;
    for (const auto& ie : imageEnv) {
        if (ie.empty()) continue;
        auto k = keyOf(ie);
        bool named = std::any_of(userEnvList.begin(), userEnvList.end(),
                                 [&](const std::string& ue) { return keyOf(ue) == k; });
        if (!named) overrides.push_back(ie);
    }

    std::vector<std::string> env = {std::string("PATH=") + kDefaultPath, "HOSTNAME=" + hostname};
    if (tty) env.push_back("TERM=xterm");

    std::vector<bool> removed(env.size(), false);
    std::unordered_map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < env.size(); ++i) index[std::string(keyOf(env[i]))] = i;
    for (const auto& o : overrides) {
        if (o.empty()) continue;
        std::string k(keyOf(o));
        if (k.empty()) continue;  // "=x": no name, nothing to set
        auto it = index.find(k);
        if (o.find('=') == std::string::npos) {  // bare "K": unset K
            if (it != index.end()) removed[it->second] = true;
            continue;
        }
        if (it != index.end()) {
            env[it->second] = o;  // later wins, in place
            removed[it->second] = false;
        } else {
            index[k] = env.size();
            env.push_back(o);
            removed.push_back(false);
        }
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < env.size(); ++i)
        if (!removed[i]) out.push_back(std::move(env[i]));
    return out;
}

void addHomeIfMissing(std::vector<std::string>& env, const std::string& home) {
    if (envValue(env, "HOME")) return;
    env.push_back("HOME=" + (home.empty() ? std::string("/") : home));
}

std::optional<std::string> envValue(const std::vector<std::string>& env, std::string_view key) {
    std::optional<std::string> v;
    for (const auto& e : env) {
        auto eq = e.find('=');
        if (eq != std::string::npos && std::string_view(e).substr(0, eq) == key)
            v = e.substr(eq + 1);
    }
    return v;
}

// ---- user ---------------------------------------------------------------------------------

std::vector<PasswdEntry> parsePasswd(std::string_view contents) {
    std::vector<PasswdEntry> out;
    for (auto raw : lines(contents)) {
        auto line = trim(raw);
        if (line.empty() || line.front() == '#') continue;
        auto f = split(line, ':');
        if (f.size() < 4) continue;
        auto uid = parseId(f[2]);
        auto gid = parseId(f[3]);
        if (!uid || !gid || f[0].empty()) continue;
        PasswdEntry e;
        e.name = std::string(f[0]);
        e.uid = static_cast<uid_t>(*uid);
        e.gid = static_cast<gid_t>(*gid);
        if (f.size() > 5) e.home = std::string(f[5]);
        if (f.size() > 6) e.shell = std::string(f[6]);
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<GroupEntry> parseGroup(std::string_view contents) {
    std::vector<GroupEntry> out;
    for (auto raw : lines(contents)) {
        auto line = trim(raw);
        if (line.empty() || line.front() == '#') continue;
        auto f = split(line, ':');
        if (f.size() < 3) continue;
        auto gid = parseId(f[2]);
        if (!gid || f[0].empty()) continue;
        GroupEntry g;
        g.name = std::string(f[0]);
        g.gid = static_cast<gid_t>(*gid);
        if (f.size() > 3 && !f[3].empty())
            for (auto m : split(f[3], ','))
                if (auto t = trim(m); !t.empty()) g.members.emplace_back(t);
        out.push_back(std::move(g));
    }
    return out;
}

ResolvedUser resolveUser(const std::string& spec, const std::optional<std::string>& passwd,
                         const std::optional<std::string>& group) {
    std::string userArg = spec, groupArg;
    if (auto c = spec.find(':'); c != std::string::npos) {
        userArg = spec.substr(0, c);
        groupArg = spec.substr(c + 1);
    }
    const bool userNumeric = isNumeric(userArg);
    const bool groupNumeric = isNumeric(groupArg);
    auto checkRange = [](std::string_view s) -> std::int64_t {
        auto v = parseId(s);
        if (!v || *v > kMaxId) throw Error("uids and gids must be in range 0-2147483647");
        return *v;
    };

    ResolvedUser r;
    const auto users = passwd ? parsePasswd(*passwd) : std::vector<PasswdEntry>{};
    const PasswdEntry* match = nullptr;
    std::int64_t wantUid = 0;
    if (userArg.empty()) wantUid = 0;
    else if (userNumeric) wantUid = checkRange(userArg);
    for (const auto& u : users) {
        bool hit = (userArg.empty() || userNumeric) ? u.uid == static_cast<uid_t>(wantUid)
                                                    : u.name == userArg;
        if (hit) { match = &u; break; }  // first match wins
    }
    if (match) {
        r.uid = match->uid;
        r.gid = match->gid;
        r.name = match->name;
        r.home = match->home.empty() ? "/" : match->home;
    } else if (!userArg.empty()) {
        if (!userNumeric)
            throw Error("unable to find user " + userArg + ": no matching entries in passwd file");
        r.uid = static_cast<uid_t>(wantUid);
    }

    const auto groups = group ? parseGroup(*group) : std::vector<GroupEntry>{};
    if (!groupArg.empty()) {
        std::int64_t wantGid = groupNumeric ? checkRange(groupArg) : -1;
        const GroupEntry* g = nullptr;
        for (const auto& e : groups) {
            if (groupNumeric ? e.gid == static_cast<gid_t>(wantGid) : e.name == groupArg) {
                g = &e;
                break;
            }
        }
        if (g) r.gid = g->gid;
        else if (groupNumeric) r.gid = static_cast<gid_t>(wantGid);
        else throw Error("unable to find group " + groupArg + ": no matching entries in group file");
    }

    // The primary gid is always a member (containerd/moby since CVE-2023-25173), then the
    // groups listing the user by name -- only in the implicit form (no ":group"), as runc.
    r.additionalGids.push_back(r.gid);
    if (groupArg.empty() && !r.name.empty()) {
        for (const auto& e : groups) {
            if (std::find(e.members.begin(), e.members.end(), r.name) == e.members.end()) continue;
            if (std::find(r.additionalGids.begin(), r.additionalGids.end(), e.gid) ==
                r.additionalGids.end())
                r.additionalGids.push_back(e.gid);
        }
    }
    return r;
}

namespace {

// Reads `rel` under rootFd with RESOLVE_IN_ROOT; nullopt when it doesn't exist.
std::optional<std::string> readInRoot(int rootFd, const char* rel) {
    constexpr std::size_t kMax = 4 << 20;
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    // IN_ROOT: absolute symlinks and ".." inside the image resolve within the container's
    // root, never to the host's /etc/passwd. NO_MAGICLINKS: no /proc/self/... tricks.
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    long fd;
    do {
        fd = ::syscall(SYS_openat2, rootFd, rel, &how, sizeof how);
    } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
        throwErrno(std::string("open /") + rel + " in the container");
    }
    UniqueFd f(static_cast<int>(fd));
    struct stat st {};
    if (::fstat(f.get(), &st) < 0) throwErrno(std::string("stat /") + rel);
    // A fifo or device named /etc/passwd must not block or feed us forever.
    if (!S_ISREG(st.st_mode)) throw Error(std::string("/") + rel + " in the container is not a regular file");
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(f.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throwErrno(std::string("read /") + rel);
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > kMax) throw Error(std::string("/") + rel + " in the container is too large");
    }
    return out;
}

}  // namespace

ResolvedUser resolveUserInRoot(const std::string& spec, int rootFd) {
    auto passwd = readInRoot(rootFd, "etc/passwd");
    auto group = readInRoot(rootFd, "etc/group");
    return resolveUser(spec, passwd, group);
}

// ---- resources ----------------------------------------------------------------------------

std::int64_t parseMemorySize(std::string_view s) {
    auto bad = [&]() { return Error("invalid size: '" + std::string(s) + "'"); };
    std::string_view t = s;
    std::size_t i = 0;
    while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
    std::string_view num = t.substr(0, i), unit = t.substr(i);
    if (num.empty() || num.front() == '.' || num.back() == '.' ||
        num.find("..") != std::string_view::npos)
        throw bad();
    if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
    std::string u;
    for (char c : unit) u += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // [kmgtp]?i?b?
    double mult = 1;
    std::size_t p = 0;
    if (p < u.size() && std::string_view("kmgtp").find(u[p]) != std::string_view::npos) {
        mult = std::pow(1024.0, static_cast<double>(std::string_view("kmgtp").find(u[p]) + 1));
        ++p;
    }
    if (p < u.size() && u[p] == 'i') ++p;
    if (p < u.size() && u[p] == 'b') ++p;
    if (p != u.size()) throw bad();
    // Only one '.' is meaningful; docker's regex allows "1.2.3" but ParseFloat rejects it.
    if (std::count(num.begin(), num.end(), '.') > 1) throw bad();
    double v = 0;
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    if (ec != std::errc() || ptr != num.data() + num.size()) throw bad();
    double bytes = v * mult;
    if (!(bytes < 9.2e18)) throw bad();
    return static_cast<std::int64_t>(bytes);
}

std::int64_t parseMemoryLimit(std::string_view s) {
    std::int64_t v = parseMemorySize(s);
    if (v > 0 && v < kMinMemoryLimit) throw Error("Minimum memory limit allowed is 6MB");
    return v;
}

std::int64_t parseCpus(std::string_view s, int hostCpus) {
    auto bad = [&]() { return Error("invalid argument \"" + std::string(s) + "\" for \"--cpus\" flag: failed to parse " + std::string(s) + " as a rational number"); };
    if (s.empty()) throw bad();
    auto dot = s.find('.');
    std::string_view ip = s.substr(0, dot);
    std::string_view fp = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
    if ((ip.empty() && fp.empty()) || !std::all_of(ip.begin(), ip.end(), ::isdigit) ||
        !std::all_of(fp.begin(), fp.end(), ::isdigit) || ip.size() > 9)
        throw bad();
    if (fp.size() > 9) throw Error("value is too precise");
    std::int64_t nano = 0;
    for (char c : ip) nano = nano * 10 + (c - '0');
    nano *= 1000000000;
    std::int64_t frac = 0;
    for (std::size_t k = 0; k < 9; ++k) frac = frac * 10 + (k < fp.size() ? fp[k] - '0' : 0);
    nano += frac;
    if (hostCpus > 0 && nano > static_cast<std::int64_t>(hostCpus) * 1000000000)
        throw Error("Range of CPUs is from 0.01 to " + std::to_string(hostCpus) + ".00, as there are only " +
                    std::to_string(hostCpus) + " CPUs available");
    return nano;
}

CpuQuota cpuQuotaFromNano(std::int64_t nanoCpus) {
    CpuQuota q;
    if (nanoCpus <= 0) return q;
    q.quotaUs = nanoCpus * q.periodUs / 1000000000;
    if (q.quotaUs < 1000) q.quotaUs = 1000;  // the kernel's minimum CFS quota
    return q;
}

}  // namespace mydock::runtime
