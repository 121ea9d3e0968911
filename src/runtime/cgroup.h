// One cgroup per container, with the limits of --memory/--cpus/--pids-limit, removed when the
// container ends. cgroup v2 (unified, or a hybrid host's unified tree when it has the
// controllers) or v1 (one directory per controller) behind one interface.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "runtime/spec.h"

namespace mydock::runtime {

class Cgroup {
public:
    Cgroup() = default;
    // Creates mydock/<id> in each hierarchy needed and writes the limits. Throws mydock::Error.
    static Cgroup create(const std::string& id, const Resources& res);
    Cgroup(Cgroup&& o) noexcept : v2_(o.v2_), dirs_(std::move(o.dirs_)) { o.dirs_.clear(); }
    Cgroup& operator=(Cgroup&& o) noexcept;
    Cgroup(const Cgroup&) = delete;
    Cgroup& operator=(const Cgroup&) = delete;
    ~Cgroup() { destroy(); }

    bool empty() const { return dirs_.empty(); }
    bool isV2() const { return v2_; }
    const std::vector<std::string>& dirs() const { return dirs_; }

    void addProcess(pid_t pid);        // all hierarchies; throws
    bool oomKilled() const;            // the kernel's OOM killer fired in this cgroup
    void killAll() noexcept;           // SIGKILL whatever is left inside
    // Kills leftovers and removes the directories (retrying while the kernel still frees
    // the last tasks). Never throws; called by the destructor.
    void destroy() noexcept;

private:
    bool v2_ = false;
    std::vector<std::string> dirs_;
};

// Removes empty cgroups of containers whose mydock died (kill -9): mydock/<id> with no task,
// older than a few seconds. Cheap; called before each run.
void cleanupStaleCgroups() noexcept;

namespace detail {
// "memory" -> its v1 mount point ("/sys/fs/cgroup/memory"), from a mountinfo text; "" if none.
std::string v1MountPoint(const std::string& mountinfo, const std::string& controller);
}  // namespace detail

}  // namespace mydock::runtime
