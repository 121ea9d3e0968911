#include "cli/ps_format.h"

#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <set>

#include "cli/image_format.h"
#include "common/error.h"
#include "runtime/net_inspect.h"

namespace mydock::cli {

namespace {

std::size_t runeCount(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

// docker's stringutils.Ellipsis: at most `max` runes, the last one "…" when cut.
std::string ellipsis(const std::string& s, std::size_t max) {
    if (runeCount(s) <= max) return s;
    std::string out;
    std::size_t runes = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if ((c & 0xC0) != 0x80 && runes++ == max - 1) break;
        out += s[i];
    }
    return out + "\u2026";
}

// Go's strconv.Quote for the printable text docker shows.
std::string goQuote(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7f) {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", c);
            out += b;
        } else out += static_cast<char>(c);
    }
    return out + "\"";
}

std::int64_t ago(const std::string& rfc3339) {
    std::int64_t t = parseRfc3339(rfc3339);
    return t ? static_cast<std::int64_t>(::time(nullptr)) - t : 0;
}

std::string status(const runtime::ContainerRecord& r) {
    if (r.state == "running") return "Up " + humanDuration(ago(r.startedAt));
    // A restart policy's wait between runs: the last exit code, and since when.
    if (r.state == "restarting")
        return "Restarting (" + std::to_string(r.exitCode) + ") " + humanDuration(ago(r.finishedAt)) + " ago";
    if (r.state == "exited") {
        const std::string& when = r.finishedAt.empty() ? r.created : r.finishedAt;
        return "Exited (" + std::to_string(r.exitCode) + ") " + humanDuration(ago(when)) + " ago";
    }
    return "Created";
}

// docker's list: the path, then the args, those with a space in single quotes.
std::string commandLine(const runtime::ContainerRecord& r) {
    std::string s;
    for (std::size_t i = 0; i < r.command.size(); ++i) {
        const std::string& a = r.command[i];
        if (i) s += ' ';
        s += (i && a.find(' ') != std::string::npos) ? "'" + a + "'" : a;
    }
    return s;
}

const nlohmann::json& sub(const nlohmann::json& j, const char* key) {
    static const nlohmann::json null;
    return j.is_object() && j.contains(key) ? j[key] : null;
}

std::vector<std::string> binds(const runtime::ContainerRecord& r) {
    std::vector<std::string> out;
    const auto& b = sub(sub(r.extra, "HostConfig"), "Binds");
    if (b.is_array())
        for (const auto& x : b)
            if (x.is_string()) out.push_back(x.get<std::string>());
    return out;
}

std::vector<std::string> networks(const runtime::ContainerRecord& r) {
    std::vector<std::string> out;
    const auto& n = sub(sub(r.extra, "NetworkSettings"), "Networks");
    if (n.is_object())
        for (const auto& [k, v] : n.items()) out.push_back(k);
    return out;
}

std::map<std::string, std::string> labels(const runtime::ContainerRecord& r) {
    std::map<std::string, std::string> out;
    const auto& l = sub(sub(r.extra, "Config"), "Labels");
    if (l.is_object())
        for (const auto& [k, v] : l.items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
    return out;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
    return s;
}

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
    return s;
}

std::string trimSpaces(const std::string& s) {
    std::size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Where a row keeps its labels for {{.Label "KEY"}} (a method in docker's ContainerContext, not a
// field: never printed by {{json .}}).
const char* const kLabelsKey = "\x01labels";

// One object through a template; {{json .}} is the whole object as Go's json.Marshal writes it
// (the shared engine prints a value, not the object's own escaping); {{.Label "KEY"}} is the
// value of that label ("" when absent), or in a header row docker's header for it.
std::string render(const std::string& tmpl, const nlohmann::ordered_json& obj) {
    static const std::regex special(R"re(\{\{-?\s*(json\s+\.|\.Label\s+"([^"]*)")\s*-?\}\})re");
    std::string out;
    auto begin = tmpl.cbegin();
    for (std::sregex_iterator it(tmpl.begin(), tmpl.end(), special), end; it != end; ++it) {
        const auto& m = *it;
        out += renderGoTemplate(std::string(begin, m[0].first), obj);
        begin = m[0].second;
        if (m[2].matched) {
            std::string key = m[2].str();
            if (obj.contains(kLabelsKey)) {
                const auto& l = obj[kLabelsKey];
                out += l.contains(key) && l[key].is_string() ? l[key].get<std::string>() : "";
            } else {
                // docker's SubHeaderContext.Label: the key's last dotted part, '-' and '_' as spaces.
                std::string h = key.substr(key.rfind('.') == std::string::npos ? 0 : key.rfind('.') + 1);
                std::replace(h.begin(), h.end(), '-', ' ');
                std::replace(h.begin(), h.end(), '_', ' ');
                out += h;
            }
            continue;
        }
        nlohmann::ordered_json shown = obj;
        shown.erase(kLabelsKey);
        out += goJsonEscape(shown.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
    }
    return out + renderGoTemplate(std::string(begin, tmpl.cend()), obj);
}

}  // namespace

std::int64_t dirUsage(const std::string& dir) {
    namespace stdfs = std::filesystem;
    std::int64_t total = 0;
    std::set<std::pair<dev_t, ino_t>> seen;
    std::error_code ec;
    // A container being removed meanwhile: count what is still there, never throw.
    stdfs::recursive_directory_iterator it(dir, stdfs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        struct stat st;
        // lstat: a symlink counts as itself, never as its target (which may be the host's).
        if (::lstat(it->path().c_str(), &st) != 0 || S_ISDIR(st.st_mode) || st.st_size == 0) continue;
        if (!seen.insert({st.st_dev, st.st_ino}).second) continue;
        total += st.st_size;
    }
    return total;
}

nlohmann::ordered_json psRow(const runtime::ContainerRecord& r, bool trunc, const PsSizes* sizes) {
    std::vector<std::string> mounts;
    for (const auto& b : binds(r)) {
        std::string src = b.substr(0, b.find(':'));
        mounts.push_back(trunc ? ellipsis(src, 15) : src);
    }
    std::vector<std::string> lbl;
    for (const auto& [k, v] : labels(r)) lbl.push_back(k + "=" + v);
    std::string cmd = commandLine(r);
    std::string size = "0B";
    if (sizes) {
        size = humanSize(static_cast<double>(sizes->rw));
        if (sizes->rootFs > 0) size += " (virtual " + humanSize(static_cast<double>(sizes->rootFs)) + ")";
    }
    nlohmann::ordered_json j;
    j["Command"] = goQuote(trunc ? ellipsis(cmd, 20) : cmd);
    j["CreatedAt"] = goTimeString(parseRfc3339(r.created));
    j["ID"] = trunc ? r.id.substr(0, 12) : r.id;
    j["Image"] = r.image.empty() ? "<no image>" : r.image;
    j["Labels"] = join(lbl, ",");
    j["LocalVolumes"] = "0";   // mydock has no volumes: binds only
    j["Mounts"] = join(mounts, ",");
    j["Names"] = r.name;
    j["Networks"] = join(networks(r), ",");
    j["Ports"] = runtime::net::portsColumn(sub(r.extra, "NetworkSettings"));
    j["RunningFor"] = humanDuration(ago(r.created)) + " ago";
    j["Size"] = size;
    j["State"] = r.state;
    j["Status"] = status(r);
    j[kLabelsKey] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : labels(r)) j[kLabelsKey][k] = v;
    return j;
}

const nlohmann::ordered_json& psHeader() {
    static const nlohmann::ordered_json h = {
        {"Command", "COMMAND"},   {"CreatedAt", "CREATED AT"}, {"ID", "CONTAINER ID"},
        {"Image", "IMAGE"},       {"Labels", "LABELS"},        {"LocalVolumes", "LOCAL VOLUMES"},
        {"Mounts", "MOUNTS"},     {"Names", "NAMES"},          {"Networks", "NETWORKS"},
        {"Ports", "PORTS"},       {"RunningFor", "CREATED"},   {"Size", "SIZE"},
        {"State", "STATE"},       {"Status", "STATUS"}};
    return h;
}

PsItem psItem(const runtime::ContainerRecord& r) {
    PsItem c;
    c.id = r.id;
    c.name = r.name;
    c.state = r.state;
    c.exitCode = r.exitCode;
    c.started = !r.startedAt.empty() && r.startedAt.rfind("0001-01-01", 0) != 0;
    c.imageId = r.imageId;
    c.labels = labels(r);
    c.networks = networks(r);
    for (const auto& b : binds(r)) {
        auto c1 = b.find(':');
        c.volumes.push_back(b.substr(0, c1));
        if (c1 != std::string::npos) c.volumes.push_back(b.substr(c1 + 1, b.find(':', c1 + 1) - c1 - 1));
    }
    const auto& ports = sub(sub(r.extra, "NetworkSettings"), "Ports");
    if (ports.is_object())
        for (const auto& [key, bindings] : ports.items()) {
            c.exposedPorts.push_back(key);
            std::string proto = key.find('/') == std::string::npos ? "tcp" : key.substr(key.find('/') + 1);
            if (bindings.is_array())
                for (const auto& b : bindings)
                    if (b.is_object() && b.contains("HostPort") && b["HostPort"].is_string())
                        c.publishedPorts.push_back(b["HostPort"].get<std::string>() + "/" + proto);
        }
    return c;
}

std::string goTabwrite(const std::string& text) {
    std::vector<std::vector<std::string>> lines;
    std::size_t p = 0;
    while (p < text.size()) {
        std::size_t nl = text.find('\n', p);
        std::string line = text.substr(p, nl == std::string::npos ? std::string::npos : nl - p);
        std::vector<std::string> cells;
        std::size_t q = 0;
        for (std::size_t tab; (tab = line.find('\t', q)) != std::string::npos; q = tab + 1) cells.push_back(line.substr(q, tab - q));
        cells.push_back(line.substr(q));   // the tail: not a column
        lines.push_back(std::move(cells));
        if (nl == std::string::npos) break;
        p = nl + 1;
    }
    std::vector<std::size_t> width;
    for (const auto& l : lines)
        for (std::size_t i = 0; i + 1 < l.size(); ++i) {
            if (width.size() <= i) width.resize(i + 1, 10);
            width[i] = std::max(width[i], runeCount(l[i]) + 3);
        }
    std::string out;
    for (std::size_t n = 0; n < lines.size(); ++n) {
        const auto& l = lines[n];
        for (std::size_t i = 0; i < l.size(); ++i) {
            out += l[i];
            if (i + 1 < l.size()) out.append(width[i] - runeCount(l[i]), ' ');
        }
        if (n + 1 < lines.size() || (!text.empty() && text.back() == '\n')) out += '\n';
    }
    return out;
}

std::string formatList(const std::string& format, const std::string& defaultTable, const nlohmann::ordered_json& header,
                       const std::vector<nlohmann::ordered_json>& rows) {
    std::string f = format.empty() || format == "table" ? defaultTable : format;
    bool table = f.rfind("table", 0) == 0;
    if (table) f = f.substr(5);
    else if (trimSpaces(f) == "json") f = "{{json .}}";
    f = replaceAll(replaceAll(trimSpaces(f), "\\t", "\t"), "\\n", "\n");
    std::string body;
    for (const auto& r : rows) body += render(f, r) + "\n";
    if (!table) return body;
    return goTabwrite(render(f, header) + "\n" + body);
}

}  // namespace mydock::cli
