#include "runtime/cgroup.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <sstream>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"

namespace mydock::runtime {

namespace {

constexpr const char* kParent = "mydock";

bool isCgroup2(const std::string& path) {
    struct statfs sf;
    return ::statfs(path.c_str(), &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

void writeValue(const std::string& dir, const std::string& file, const std::string& value) {
    std::string p = fs::join(dir, file);
    FILE* f = std::fopen(p.c_str(), "we");
    if (!f) throwErrno("open " + p);
    std::unique_ptr<FILE, int (*)(FILE*)> g(f, std::fclose);
    if (std::fputs(value.c_str(), f) < 0 || std::fflush(f) != 0) throwErrno("write " + value + " to " + p);
}

std::vector<std::string> words(const std::string& s) {
    std::stringstream ss(s);
    std::vector<std::string> out;
    std::string w;
    while (ss >> w) out.push_back(w);
    return out;
}

// The value of "key N" in a flat keyed file (memory.events, memory.oom_control).
long long keyedValue(const std::string& path, const std::string& key) {
    std::string text;
    try {
        if (!fs::readFileIfExists(path, text)) return -1;
    } catch (...) {
        return -1;
    }
    std::stringstream ss(text);
    std::string k;
    long long v;
    while (ss >> k >> v)
        if (k == key) return v;
    return -1;
}

// mkdir base/mydock/<id>, racing safely with another mydock that removes an empty base/mydock.
std::string makeLeaf(const std::string& base, const std::string& id) {
    std::string parent = fs::join(base, kParent);
    std::string leaf = fs::join(parent, id);
    for (int attempt = 0; attempt < 10; ++attempt) {
        if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) throwErrno("create cgroup " + parent);
        if (::mkdir(leaf.c_str(), 0755) == 0) return leaf;
        if (errno != ENOENT) throwErrno("create cgroup " + leaf);
    }
    throwErrno("create cgroup " + leaf, ENOENT);
}

// v2: the controllers a child of `dir` may use must be enabled in dir's subtree_control.
void enableControllers(const std::string& dir, const std::vector<std::string>& ctrls) {
    for (const auto& c : ctrls) {
        try {
            writeValue(dir, "cgroup.subtree_control", "+" + c);
        } catch (const Error& e) {
            throw Error("cannot enable the " + c + " controller in " + dir + ": " + e.what());
        }
    }
}

std::vector<std::string> neededControllers(const Resources& r) {
    std::vector<std::string> out;
    if (r.memoryBytes > 0) out.push_back("memory");
    if (r.cpuQuotaUs > 0) out.push_back("cpu");
    if (r.pidsLimit > 0) out.push_back("pids");
    return out;
}

// The unified tree to use, or "" for v1: /sys/fs/cgroup when it is cgroup2, else a hybrid
// host's /sys/fs/cgroup/unified when the controllers we need live there.
std::string v2Base(const std::vector<std::string>& ctrls) {
    if (isCgroup2("/sys/fs/cgroup")) return "/sys/fs/cgroup";
    const std::string uni = "/sys/fs/cgroup/unified";
    if (!isCgroup2(uni)) return {};
    std::string avail;
    try {
        if (!fs::readFileIfExists(fs::join(uni, "cgroup.controllers"), avail)) return {};
    } catch (...) {
        return {};
    }
    auto have = words(avail);
    for (const auto& c : ctrls)
        if (std::find(have.begin(), have.end(), c) == have.end()) return {};
    return uni;
}

std::string readMountinfo() {
    std::string mi;
    try {
        fs::readFileIfExists("/proc/self/mountinfo", mi);
    } catch (...) {
    }
    return mi;
}

bool removeDir(const std::string& dir) {
    // A cgroup directory can be removed once no task is left; the kernel may need a few
    // moments to release tasks that were just killed.
    for (int i = 0; i < 200; ++i) {
        if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
        if (errno != EBUSY) break;
        struct timespec ts {0, 10 * 1000 * 1000};
        ::nanosleep(&ts, nullptr);
    }
    log::warn("cannot remove cgroup " + dir + ": " + std::strerror(errno));
    return false;
}

}  // namespace

namespace detail {
std::string v1MountPoint(const std::string& mountinfo, const std::string& controller) {
    std::stringstream ss(mountinfo);
    std::string line;
    while (std::getline(ss, line)) {
        auto sep = line.find(" - cgroup ");
        if (sep == std::string::npos) continue;
        auto fields = words(line.substr(0, sep));
        auto tail = words(line.substr(sep + 3));
        if (fields.size() < 5 || tail.size() < 3) continue;
        std::stringstream os(tail[2]);
        std::string o;
        while (std::getline(os, o, ','))
            if (o == controller) return fields[4];
    }
    return {};
}
}  // namespace detail

Cgroup& Cgroup::operator=(Cgroup&& o) noexcept {
    if (this != &o) {
        destroy();
        v2_ = o.v2_;
        dirs_ = std::move(o.dirs_);
        o.dirs_.clear();
    }
    return *this;
}

Cgroup Cgroup::create(const std::string& id, const Resources& res) {
    Cgroup cg;
    if (!res.any()) return cg;
    auto ctrls = neededControllers(res);
    std::string base = v2Base(ctrls);
    try {
        if (!base.empty()) {
            cg.v2_ = true;
            enableControllers(base, ctrls);
            std::string parent = fs::join(base, kParent);
            if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) throwErrno("create cgroup " + parent);
            enableControllers(parent, ctrls);
            std::string dir = makeLeaf(base, id);
            cg.dirs_.push_back(dir);
            if (res.memoryBytes > 0) {
                writeValue(dir, "memory.max", std::to_string(res.memoryBytes));
                // docker's default --memory-swap is twice the memory: as much swap again.
                if (fs::exists(fs::join(dir, "memory.swap.max")))
                    writeValue(dir, "memory.swap.max", std::to_string(res.memoryBytes));
            }
            if (res.cpuQuotaUs > 0)
                writeValue(dir, "cpu.max", std::to_string(res.cpuQuotaUs) + " " + std::to_string(res.cpuPeriodUs));
            if (res.pidsLimit > 0) writeValue(dir, "pids.max", std::to_string(res.pidsLimit));
            return cg;
        }
        std::string mi = readMountinfo();
        for (const auto& c : ctrls) {
            std::string mp = detail::v1MountPoint(mi, c);
            if (mp.empty()) throw Error("the " + c + " cgroup controller is not available on this host");
            // Two controllers may share a hierarchy (cpu,cpuacct): one directory for both.
            std::string dir = fs::join(fs::join(mp, kParent), id);
            if (std::find(cg.dirs_.begin(), cg.dirs_.end(), dir) == cg.dirs_.end())
                cg.dirs_.push_back(makeLeaf(mp, id));
            if (c == "memory") {
                writeValue(dir, "memory.limit_in_bytes", std::to_string(res.memoryBytes));
                if (fs::exists(fs::join(dir, "memory.memsw.limit_in_bytes")))
                    writeValue(dir, "memory.memsw.limit_in_bytes", std::to_string(2 * res.memoryBytes));
            } else if (c == "cpu") {
                writeValue(dir, "cpu.cfs_period_us", std::to_string(res.cpuPeriodUs));
                writeValue(dir, "cpu.cfs_quota_us", std::to_string(res.cpuQuotaUs));
            } else if (c == "pids") {
                writeValue(dir, "pids.max", std::to_string(res.pidsLimit));
            }
        }
    } catch (...) {
        rethrowWithContext("cgroup for the container");
    }
    return cg;
}

void Cgroup::addProcess(pid_t pid) {
    for (const auto& d : dirs_) writeValue(d, "cgroup.procs", std::to_string(pid));
}

bool Cgroup::oomKilled() const {
    for (const auto& d : dirs_) {
        if (v2_) {
            if (keyedValue(fs::join(d, "memory.events"), "oom_kill") > 0) return true;
        } else if (fs::exists(fs::join(d, "memory.oom_control"))) {
            long long n = keyedValue(fs::join(d, "memory.oom_control"), "oom_kill");
            if (n > 0) return true;
            // Kernels before 4.13 have no oom_kill counter: the limit was hit at least.
            if (n < 0 && keyedValue(fs::join(d, "memory.failcnt"), "") > 0) return true;
        }
    }
    return false;
}

void Cgroup::killAll() noexcept {
    for (const auto& d : dirs_) {
        if (v2_ && fs::exists(fs::join(d, "cgroup.kill"))) {
            try {
                writeValue(d, "cgroup.kill", "1");
                continue;
            } catch (...) {
            }
        }
        std::string procs;
        try {
            if (!fs::readFileIfExists(fs::join(d, "cgroup.procs"), procs)) continue;
        } catch (...) {
            continue;
        }
        for (const auto& p : words(procs)) ::kill(static_cast<pid_t>(std::stol(p)), SIGKILL);
    }
}

void Cgroup::destroy() noexcept {
    if (dirs_.empty()) return;
    killAll();
    for (const auto& d : dirs_) {
        removeDir(d);
        // The shared parent goes too when we were its last child (EBUSY: others still use it).
        ::rmdir(fs::dirname(d).c_str());
    }
    dirs_.clear();
}

void cleanupStaleCgroups() noexcept {
    std::vector<std::string> bases;
    if (isCgroup2("/sys/fs/cgroup")) {
        bases.push_back("/sys/fs/cgroup");
    } else {
        if (isCgroup2("/sys/fs/cgroup/unified")) bases.push_back("/sys/fs/cgroup/unified");
        std::string mi = readMountinfo();
        for (const char* c : {"memory", "cpu", "pids"}) {
            std::string mp = detail::v1MountPoint(mi, c);
            if (!mp.empty()) bases.push_back(mp);
        }
    }
    time_t now = ::time(nullptr);
    for (const auto& b : bases) {
        std::string parent = fs::join(b, kParent);
        DIR* d = ::opendir(parent.c_str());
        if (!d) continue;
        std::unique_ptr<DIR, int (*)(DIR*)> g(d, ::closedir);
        while (struct dirent* e = ::readdir(d)) {
            if (e->d_name[0] == '.' || e->d_type != DT_DIR) continue;
            std::string leaf = fs::join(parent, e->d_name);
            struct stat st;
            // Young ones may be a starting container not yet populated.
            if (::stat(leaf.c_str(), &st) != 0 || now - st.st_mtime < 3) continue;
            std::string procs;
            try {
                if (!fs::readFileIfExists(fs::join(leaf, "cgroup.procs"), procs) || !words(procs).empty()) continue;
            } catch (...) {
                continue;
            }
            ::rmdir(leaf.c_str());   // fails harmlessly (EBUSY) if a task arrived meanwhile
        }
    }
}

}  // namespace mydock::runtime
