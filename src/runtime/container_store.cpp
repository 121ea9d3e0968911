#include "runtime/container_store.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "runtime/names.h"

namespace mydock::runtime {

namespace {
bool isHexId(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
}  // namespace

std::string nowRfc3339() {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    ::gmtime_r(&ts.tv_sec, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
    return buf;
}

nlohmann::json recordToJson(const ContainerRecord& r) {
    nlohmann::json j = r.extra.is_object() ? r.extra : nlohmann::json::object();
    j["Id"] = r.id;
    j["Name"] = r.name;
    j["Image"] = r.imageId;
    j["ImageName"] = r.image;
    j["Path"] = r.command.empty() ? "" : r.command[0];
    j["Args"] = r.command.size() > 1 ? std::vector<std::string>(r.command.begin() + 1, r.command.end())
                                     : std::vector<std::string>();
    j["Created"] = r.created;
    j["State"] = {{"Status", r.state},       {"Running", r.state == "running"}, {"Pid", r.pid},
                  {"ExitCode", r.exitCode},  {"OOMKilled", r.oomKilled},        {"Error", r.error},
                  {"StartedAt", r.startedAt}, {"FinishedAt", r.finishedAt}};
    j["HostConfig"]["AutoRemove"] = r.autoRemove;
    return j;
}

ContainerRecord recordFromJson(const nlohmann::json& j) {
    ContainerRecord r;
    try {
        r.id = j.at("Id").get<std::string>();
        r.name = j.at("Name").get<std::string>();
        r.imageId = j.value("Image", "");
        r.image = j.value("ImageName", "");
        std::string path = j.value("Path", "");
        if (!path.empty()) r.command.push_back(path);
        if (j.contains("Args"))
            for (const auto& a : j.at("Args")) r.command.push_back(a.get<std::string>());
        r.created = j.value("Created", "");
        const auto& st = j.at("State");
        r.state = st.value("Status", "created");
        r.pid = st.value("Pid", 0);
        r.exitCode = st.value("ExitCode", 0);
        r.oomKilled = st.value("OOMKilled", false);
        r.error = st.value("Error", "");
        r.startedAt = st.value("StartedAt", "");
        r.finishedAt = st.value("FinishedAt", "");
        if (j.contains("HostConfig")) r.autoRemove = j.at("HostConfig").value("AutoRemove", false);
        r.extra = j;
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("malformed container record: ") + e.what());
    }
    if (!isHexId(r.id)) throw Error("malformed container record: bad id");
    return r;
}

ContainerStore::ContainerStore(const std::string& root) : dir_(fs::join(root, "containers")) {
    fs::makeDirs(dir_, 0700);
}

std::string ContainerStore::containerDir(const std::string& id) const { return fs::join(dir_, id); }

ContainerRecord ContainerStore::create(ContainerRecord rec) {
    if (!rec.name.empty() && !validContainerName(rec.name))
        throw Error("Invalid container name (" + rec.name + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    // Names are unique per root: the check and the write happen under one lock.
    FileLock names(fs::join(dir_, ".names.lock"), FileLock::Mode::Exclusive);
    auto all = list();
    auto taken = [&](const std::string& n) {
        return std::any_of(all.begin(), all.end(), [&](const ContainerRecord& r) { return r.name == n; });
    };
    if (rec.name.empty()) {
        rec.name = generateName(taken);
    } else if (taken(rec.name)) {
        auto it = std::find_if(all.begin(), all.end(), [&](const ContainerRecord& r) { return r.name == rec.name; });
        throw Error("Conflict. The container name \"/" + rec.name + "\" is already in use by container \"" + it->id +
                    "\". You have to remove (or rename) that container to be able to reuse that name.");
    }
    if (rec.created.empty()) rec.created = nowRfc3339();
    std::string dir = containerDir(rec.id);
    if (::mkdir(dir.c_str(), 0700) != 0) throwErrno("create " + dir);
    fs::writeFileAtomic(fs::join(dir, "config.json"), recordToJson(rec).dump(2), !rec.autoRemove, 0600);
    return rec;
}

void ContainerStore::save(const ContainerRecord& rec) const {
    std::string dir = containerDir(rec.id);
    if (!fs::isDir(dir)) return;
    fs::writeFileAtomic(fs::join(dir, "config.json"), recordToJson(rec).dump(2), !rec.autoRemove, 0600);
}

std::optional<ContainerRecord> ContainerStore::load(const std::string& id) const {
    std::string text;
    try {
        if (!fs::readFileIfExists(fs::join(containerDir(id), "config.json"), text)) return std::nullopt;
        ContainerRecord r = recordFromJson(nlohmann::json::parse(text));
        // "running" without its mydock: that mydock was killed, and the container with it.
        // "restarting" (a restart policy's wait between runs, lock held) without it: the same.
        if (r.state == "running" && !isRunning(r)) {
            r.state = "exited";
            r.exitCode = 137;
            r.pid = 0;
        } else if (r.state == "restarting") {
            ContainerRecord probe;
            probe.id = r.id;
            probe.state = "running";
            if (!isRunning(probe)) r.state = "exited";   // keeps the last run's exit code
        }
        return r;
    } catch (const std::exception& e) {
        log::warn("skipping container " + id + ": " + e.what());
        return std::nullopt;
    }
}

std::vector<ContainerRecord> ContainerStore::list() const {
    std::vector<ContainerRecord> out;
    DIR* d = ::opendir(dir_.c_str());
    if (!d) throwErrno("open " + dir_);
    std::unique_ptr<DIR, int (*)(DIR*)> g(d, ::closedir);
    while (struct dirent* e = ::readdir(d)) {
        if (!isHexId(e->d_name)) continue;
        if (auto r = load(e->d_name)) out.push_back(std::move(*r));
    }
    std::sort(out.begin(), out.end(), [](const ContainerRecord& a, const ContainerRecord& b) { return a.created > b.created; });
    return out;
}

std::optional<ContainerRecord> ContainerStore::find(const std::string& ref) const {
    if (ref.empty()) return std::nullopt;
    std::string name = ref[0] == '/' ? ref.substr(1) : ref;
    auto all = list();
    for (auto& r : all)
        if (r.id == ref) return r;
    for (auto& r : all)
        if (r.name == name) return r;
    std::optional<ContainerRecord> hit;
    for (auto& r : all) {
        if (r.id.compare(0, ref.size(), ref) != 0) continue;
        if (hit) throw Error("multiple containers found with provided prefix: " + ref, 1);
        hit = r;
    }
    return hit;
}

void ContainerStore::remove(const std::string& id) const {
    if (!isHexId(id)) throw Error("invalid container id " + id);
    fs::removeTree(containerDir(id));
}

std::vector<std::string> ContainerStore::sweepDeadAutoRemoved() const {
    std::vector<std::string> out;
    for (const auto& r : list()) {
        if (!r.autoRemove || r.state != "exited" || r.exitCode != 137 || !r.finishedAt.empty()) continue;
        // list() shows a dead "running" record as exited 137 with no finish time; the lock
        // file proves it got as far as running (a starting one may not hold it yet).
        std::string lock = fs::join(containerDir(r.id), "running.lock");
        if (!fs::exists(lock)) continue;
        FileLock held = FileLock::tryLock(lock, FileLock::Mode::Exclusive);
        if (!held) continue;
        try {
            fs::removeTree(containerDir(r.id));
            out.push_back(r.id);
        } catch (const std::exception& e) {
            log::warn("removing dead container " + r.id + ": " + e.what());
        }
    }
    return out;
}

void ContainerStore::sweepIncomplete() const {
    FileLock names(fs::join(dir_, ".names.lock"), FileLock::Mode::Exclusive);
    DIR* d = ::opendir(dir_.c_str());
    if (!d) throwErrno("open " + dir_);
    std::unique_ptr<DIR, int (*)(DIR*)> g(d, ::closedir);
    while (struct dirent* e = ::readdir(d)) {
        if (!isHexId(e->d_name) || fs::exists(fs::join(containerDir(e->d_name), "config.json"))) continue;
        try {
            fs::removeTree(containerDir(e->d_name));
        } catch (const std::exception& ex) {
            log::warn(std::string("removing incomplete container ") + e->d_name + ": " + ex.what());
        }
    }
}

FileLock ContainerStore::lockRunning(const std::string& id) const {
    return FileLock(fs::join(containerDir(id), "running.lock"), FileLock::Mode::Exclusive);
}

bool ContainerStore::isRunning(const ContainerRecord& rec) const {
    if (rec.state != "running") return false;
    std::string lock = fs::join(containerDir(rec.id), "running.lock");
    if (!fs::exists(lock)) return false;
    return !FileLock::tryLock(lock, FileLock::Mode::Shared);
}

}  // namespace mydock::runtime
