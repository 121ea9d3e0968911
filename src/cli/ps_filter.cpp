#include "cli/ps_filter.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include "common/error.h"

namespace mydock::cli {

namespace {

const std::set<std::string> kKeys = {"ancestor", "before", "exited", "expose", "health", "id", "is-task",
                                     "isolation", "label", "name", "network", "publish", "since", "status", "volume"};
const std::set<std::string> kStates = {"created", "restarting", "running", "removing", "paused", "exited", "dead"};
const std::set<std::string> kHealth = {"starting", "healthy", "unhealthy", "none"};

std::string trim(const std::string& s) {
    std::size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

// Go's strconv.Atoi, with its error text.
bool parseInt(const std::string& s, int& out) {
    if (s.empty() || s.size() > 10) return false;
    std::size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (i == s.size()) return false;
    long long v = 0;
    for (; i < s.size(); ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    out = static_cast<int>(s[0] == '-' ? -v : v);
    return true;
}

// docker's filters.Args.Match: the value is a regular expression searched in the text; an
// invalid one matches nothing.
bool regexSearch(const std::string& pattern, const std::string& text) {
    try {
        return std::regex_search(text, std::regex(pattern, std::regex::ECMAScript));
    } catch (const std::regex_error&) {
        return false;
    }
}

// "80", "80/udp", "8000-8010/tcp" to "N/proto" keys; docker's messages for bad ones.
std::vector<std::string> expandPorts(const std::string& key, const std::string& value) {
    if (value.find(':') != std::string::npos)
        throw Error("filter for '" + key + "' should not contain ':': " + value);
    std::string port = value, proto = "tcp";
    if (auto slash = value.find('/'); slash != std::string::npos) {
        port = value.substr(0, slash);
        proto = value.substr(slash + 1);
    }
    int start = 0, end = 0;
    auto dash = port.find('-');
    bool ok = dash == std::string::npos ? parseInt(port, start) && (end = start, true)
                                        : parseInt(port.substr(0, dash), start) && parseInt(port.substr(dash + 1), end);
    if (!ok || start < 0 || end > 65535 || start > end)
        throw Error("error while looking up for " + key + " " + value + ": invalid port range: " + port);
    std::vector<std::string> out;
    for (int p = start; p <= end; ++p) out.push_back(std::to_string(p) + "/" + proto);
    return out;
}

bool anyPort(const PsFilters& f, const std::string& key, const std::vector<std::string>& have) {
    for (const auto& v : f.values(key))
        for (const auto& p : expandPorts(key, v))
            if (std::find(have.begin(), have.end(), p) != have.end()) return true;
    return false;
}

// Full id, exact name (with or without the leading '/'), or a unique id prefix.
std::size_t findContainer(const std::vector<PsItem>& items, const std::string& ref) {
    std::string name = ref.rfind('/', 0) == 0 ? ref.substr(1) : ref;
    for (std::size_t i = 0; i < items.size(); ++i)
        if (items[i].id == ref) return i;
    for (std::size_t i = 0; i < items.size(); ++i)
        if (items[i].name == name) return i;
    std::size_t found = items.size(), count = 0;
    if (!ref.empty())
        for (std::size_t i = 0; i < items.size(); ++i)
            if (items[i].id.rfind(ref, 0) == 0) found = i, ++count;
    if (count != 1) throw Error("No such container: " + ref);
    return found;
}

bool running(const PsItem& c) { return c.state == "running" || c.state == "restarting"; }

}  // namespace

PsFilters PsFilters::parse(const std::vector<std::string>& args) {
    PsFilters f;
    for (const auto& a : args) {
        auto eq = a.find('=');
        if (eq == std::string::npos)
            throw Error("invalid argument \"" + a + "\" for \"-f, --filter\" flag: bad format of filter (expected name=value)");
        std::string key = trim(a.substr(0, eq));
        std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
        f.args_[key].insert(trim(a.substr(eq + 1)));
    }
    for (const auto& [key, vals] : f.args_) {
        if (!kKeys.count(key)) throw Error("invalid filter '" + key + "'");
        for (const auto& v : vals) {
            int code;
            if (key == "exited" && !parseInt(v, code))
                throw Error("strconv.Atoi: parsing \"" + v + "\": invalid syntax");
            if (key == "status" && !kStates.count(v)) throw Error("invalid filter 'status=" + v + "'");
            if (key == "health" && !kHealth.count(v)) throw Error("Unrecognised filter value for health: " + v);
            if (key == "is-task" && (vals.size() != 1 || (v != "true" && v != "false")))
                throw Error("invalid filter 'is-task=" + v + "'");
            if (key == "publish" || key == "expose") expandPorts(key, v);
        }
    }
    return f;
}

std::vector<std::string> PsFilters::values(const std::string& key) const {
    auto it = args_.find(key);
    return it == args_.end() ? std::vector<std::string>{} : std::vector<std::string>(it->second.begin(), it->second.end());
}

bool PsFilters::matches(const PsItem& c, const std::set<std::string>& ancestorIds) const {
    auto anyOf = [&](const std::string& key, auto pred) {
        if (!has(key)) return true;
        for (const auto& v : args_.at(key))
            if (pred(v)) return true;
        return false;
    };
    if (!anyOf("name", [&](const std::string& v) { return regexSearch(v, "/" + c.name) || regexSearch(v, c.name); }))
        return false;
    // docker resolves id= as a unique prefix first, then keeps those its regexp also matches.
    if (!anyOf("id", [&](const std::string& v) { return !v.empty() && c.id.rfind(v, 0) == 0; })) return false;
    // label=K and label=K=V: every one must hold (docker's MatchKVList).
    if (has("label"))
        for (const auto& v : args_.at("label")) {
            auto eq = v.find('=');
            auto it = c.labels.find(v.substr(0, eq));
            if (it == c.labels.end()) return false;
            if (eq != std::string::npos && it->second != v.substr(eq + 1)) return false;
        }
    if (!anyOf("isolation", [](const std::string& v) { return regexSearch(v, "default"); })) return false;
    if (!anyOf("exited", [&](const std::string& v) {
            int code = 0;
            return parseInt(v, code) && code == c.exitCode && !running(c) && c.started;
        }))
        return false;
    if (!anyOf("status", [&](const std::string& v) { return v == c.state; })) return false;
    // mydock has no health checks: docker's "none" for every container.
    if (!anyOf("health", [](const std::string& v) { return v == "none"; })) return false;
    if (!anyOf("volume", [&](const std::string& v) {
            return std::find(c.volumes.begin(), c.volumes.end(), v) != c.volumes.end();
        }))
        return false;
    if (has("ancestor") && !ancestorIds.count(c.imageId)) return false;
    if (!anyOf("network", [&](const std::string& v) {
            return std::find(c.networks.begin(), c.networks.end(), v) != c.networks.end();
        }))
        return false;
    if (has("publish") && !anyPort(*this, "publish", c.publishedPorts)) return false;
    if (has("expose") && !anyPort(*this, "expose", c.exposedPorts)) return false;
    // No container of mydock is a swarm task.
    if (!anyOf("is-task", [](const std::string& v) { return v == "false"; })) return false;
    return true;
}

std::vector<std::size_t> selectContainers(const std::vector<PsItem>& newestFirst, const PsFilters& filters,
                                          const PsSelection& sel, const std::set<std::string>& ancestorIds) {
    // docker takes the last before= and since= value given.
    std::size_t before = newestFirst.size(), since = newestFirst.size();
    bool hasBefore = false, hasSince = false;
    for (const auto& v : filters.values("before")) before = findContainer(newestFirst, v), hasBefore = true;
    for (const auto& v : filters.values("since")) since = findContainer(newestFirst, v), hasSince = true;
    bool all = sel.all || filters.has("status");
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < newestFirst.size(); ++i) {
        const PsItem& c = newestFirst[i];
        if (hasBefore && i <= before) continue;   // newer than the before= container, or it
        if (hasSince && i >= since) break;        // the since= container and older ones
        if (!running(c) && !all && sel.last <= 0) continue;
        if (!filters.matches(c, ancestorIds)) continue;
        if (sel.last > 0 && out.size() == static_cast<std::size_t>(sel.last)) break;
        out.push_back(i);
    }
    return out;
}

}  // namespace mydock::cli
