// Container records: $ROOT/containers/<64-hex id>/config.json (plus the container's upper/,
// work/, merged/ and /etc files beside it). Written atomically; a running container's mydock
// holds running.lock, so a record that says "running" without its lock held belongs to a
// mydock that died (kill -9) and is shown as exited.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/lock.h"

namespace mydock::runtime {

struct ContainerRecord {
    std::string id;                    // 64 hex
    std::string name;                  // without docker's leading "/"
    std::string image;                 // the image as the user named it ("busybox")
    std::string imageId;               // "sha256:<config digest>"
    std::vector<std::string> command;  // the final argv (entrypoint + cmd)
    std::string created;               // RFC 3339 UTC, nanoseconds
    std::string state = "created";     // created | running | exited
    int pid = 0;
    int exitCode = 0;
    bool oomKilled = false;
    std::string error;                 // why it failed to start, if it did
    std::string startedAt, finishedAt;
    bool autoRemove = false;           // --rm
    nlohmann::json extra = nlohmann::json::object();   // fields other verbs keep (issue 5)
};

nlohmann::json recordToJson(const ContainerRecord& r);
ContainerRecord recordFromJson(const nlohmann::json& j);   // throws on a malformed record

// "2026-11-28T17:12:03.123456789Z" for now.
std::string nowRfc3339();

class ContainerStore {
public:
    explicit ContainerStore(const std::string& root);   // $ROOT; creates $ROOT/containers
    std::string containerDir(const std::string& id) const;

    // Registers a new container; generates a unique name when rec.name is empty. Throws
    // mydock::Error (125) for an invalid name or one in use (docker's "Conflict." message).
    ContainerRecord create(ContainerRecord rec);
    // Rewrites the record; fsync'd unless the container is --rm (speed: it will vanish anyway).
    // A record whose directory is gone (rm -f meanwhile) is not recreated.
    void save(const ContainerRecord& rec) const;

    std::vector<ContainerRecord> list() const;          // newest first
    // By full id, exact name, or unique id prefix. nullopt when none; throws when ambiguous.
    std::optional<ContainerRecord> find(const std::string& ref) const;
    void remove(const std::string& id) const;           // the whole directory

    // Removes the --rm containers whose mydock was killed (their records say running, their
    // lock is free): what that mydock would have removed. Returns their ids (for the caller
    // to release their image holds).
    std::vector<std::string> sweepDeadAutoRemoved() const;
    // Removes container dirs whose record was never written (a mydock killed inside
    // create()); safe against a create() in progress, which holds the same lock.
    void sweepIncomplete() const;

    // Held by the mydock running the container for as long as it runs.
    FileLock lockRunning(const std::string& id) const;
    bool isRunning(const ContainerRecord& rec) const;

private:
    std::optional<ContainerRecord> load(const std::string& id) const;
    std::string dir_;
};

}  // namespace mydock::runtime
