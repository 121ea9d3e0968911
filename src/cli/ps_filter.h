// `ps --filter KEY=VALUE` (and -a, -n, --last), docker's rules, on plain data: the CLI turns
// container records into PsItems, so the matching is testable without a state root.
// docker's rules: several values of one key OR (label: AND), different keys AND; a status filter
// implies -a; before=/since= cut the newest-first list at a container; -n N keeps the first N.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace mydock::cli {

// What the filters look at in one container.
struct PsItem {
    std::string id;                               // 64 hex
    std::string name;                             // without docker's leading "/"
    std::string state;                            // created | running | restarting | exited | ...
    int exitCode = 0;
    bool started = false;                         // has run at least once (StartedAt set)
    std::string imageId;                          // "sha256:<hex>"
    std::map<std::string, std::string> labels;
    std::vector<std::string> networks;            // "bridge", "none", "host"
    std::vector<std::string> volumes;             // bind sources and destinations
    std::vector<std::string> publishedPorts;      // host side: "8080/tcp"
    std::vector<std::string> exposedPorts;        // container side: "80/tcp"
};

class PsFilters {
public:
    // The -f values, "key=value" each (key lowercased, both trimmed, as docker's CLI does).
    // Throws mydock::Error: "bad format of filter (expected name=value)" for a value without
    // '=', "invalid filter 'KEY'" for a key docker's ps does not know, and docker's message
    // for a bad value (status=, exited=, health=, is-task=, publish=, expose=).
    static PsFilters parse(const std::vector<std::string>& args);

    bool empty() const { return args_.empty(); }
    bool has(const std::string& key) const { return args_.count(key) != 0; }
    std::vector<std::string> values(const std::string& key) const;

    // Everything but before/since/ancestor (which need the list and the image store).
    // ancestorIds: the image ids the ancestor= values resolve to (unused without ancestor=).
    bool matches(const PsItem& c, const std::set<std::string>& ancestorIds) const;

private:
    std::map<std::string, std::set<std::string>> args_;
};

struct PsSelection {
    bool all = false;       // -a
    int last = -1;          // -n N (> 0: the N newest, any state); -l is last = 1
};

// Indexes into `newestFirst` of the containers `ps` shows, in that order. Resolves before= and
// since= against the list itself (full id, name, or unique id prefix; "No such container: X"
// otherwise, exit 125). ancestorIds as for matches().
std::vector<std::size_t> selectContainers(const std::vector<PsItem>& newestFirst, const PsFilters& filters,
                                          const PsSelection& sel, const std::set<std::string>& ancestorIds);

}  // namespace mydock::cli
