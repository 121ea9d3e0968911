#include "cli/image_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "common/error.h"

namespace mydock::cli {

namespace {
// Go's fmt %v of a decoded JSON value, as text/template prints it.
std::string goValue(const nlohmann::ordered_json& v) {
    if (v.is_null()) return "<no value>";
    if (v.is_string()) return v.get<std::string>();
    if (v.is_array()) {
        std::string s = "[";
        for (std::size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + goValue(v[i]);
        return s + "]";
    }
    if (v.is_object()) {
        std::map<std::string, std::string> sorted;
        for (auto it = v.begin(); it != v.end(); ++it) sorted[it.key()] = goValue(it.value());
        std::string s = "map[";
        bool first = true;
        for (const auto& [k, x] : sorted) {
            s += (first ? "" : " ") + k + ":" + x;
            first = false;
        }
        return s + "]";
    }
    return v.dump();
}

const nlohmann::ordered_json* walk(const nlohmann::ordered_json& root, const std::string& path) {
    const nlohmann::ordered_json* cur = &root;
    std::size_t p = 1;  // skip the leading '.'
    while (p < path.size()) {
        auto dot = path.find('.', p);
        std::string key = path.substr(p, dot == std::string::npos ? std::string::npos : dot - p);
        if (!cur->is_object() || !cur->contains(key)) return nullptr;
        cur = &(*cur)[key];
        if (dot == std::string::npos) break;
        p = dot + 1;
    }
    return cur;
}

}  // namespace


std::string humanSize(double bytes, int precision) {
    static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
    int i = 0;
    while (bytes >= 1000.0 && i < 8) {
        bytes /= 1000.0;
        ++i;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g%s", precision, bytes, units[i]);
    return buf;
}

std::string humanDuration(std::int64_t seconds) {
    if (seconds < 1) return "Less than a second";
    if (seconds == 1) return "1 second";
    if (seconds < 60) return std::to_string(seconds) + " seconds";
    std::int64_t minutes = seconds / 60;
    if (minutes == 1) return "About a minute";
    if (minutes < 60) return std::to_string(minutes) + " minutes";
    std::int64_t hours = static_cast<std::int64_t>(std::llround(static_cast<double>(seconds) / 3600.0));
    if (hours == 1) return "About an hour";
    if (hours < 48) return std::to_string(hours) + " hours";
    if (hours < 24 * 7 * 2) return std::to_string(hours / 24) + " days";
    if (hours < 24 * 30 * 2) return std::to_string(hours / 24 / 7) + " weeks";
    if (hours < 24 * 365 * 2) return std::to_string(hours / 24 / 30) + " months";
    return std::to_string(seconds / 3600 / 24 / 365) + " years";
}

std::int64_t parseRfc3339(const std::string& s) {
    int Y, M, D, h, m, sec;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &Y, &M, &D, &h, &m, &sec) != 6) return 0;
    std::tm tm{};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    std::int64_t t = ::timegm(&tm);
    // Skip fractional seconds, then apply the zone offset.
    std::size_t p = 19;
    if (p < s.size() && s[p] == '.')
        while (++p < s.size() && s[p] >= '0' && s[p] <= '9') {
        }
    if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
        int oh = 0, om = 0;
        if (std::sscanf(s.c_str() + p + 1, "%2d:%2d", &oh, &om) == 2) {
            std::int64_t off = oh * 3600 + om * 60;
            t += s[p] == '+' ? -off : off;
        }
    }
    return t;
}

std::string goTimeString(std::int64_t unixSeconds) {
    std::time_t t = static_cast<std::time_t>(unixSeconds);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    char buf[96];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
    return buf;
}

std::string goJsonEscape(const std::string& json) {
    std::string out;
    out.reserve(json.size());
    for (char c : json) {
        if (c == '<') out += "\\u003c";
        else if (c == '>') out += "\\u003e";
        else if (c == '&') out += "\\u0026";
        else out += c;
    }
    return out;
}

std::string tabwrite(const std::vector<std::vector<std::string>>& rows) {
    // Every cell but a row's last is padded to its column's width + 3 (at least 10).
    std::vector<std::size_t> width;
    for (const auto& r : rows)
        for (std::size_t i = 0; i + 1 < r.size(); ++i) {
            if (width.size() <= i) width.resize(i + 1, 0);
            width[i] = std::max(width[i], r[i].size());
        }
    std::string out;
    for (const auto& r : rows) {
        for (std::size_t i = 0; i < r.size(); ++i) {
            out += r[i];
            if (i + 1 < r.size()) out.append(std::max<std::size_t>(width[i] + 3, 10) - r[i].size(), ' ');
        }
        out += '\n';
    }
    return out;
}

// A small subset of Go templates: text with {{.Path.To.Field}} and {{json .Path}}.
std::string renderGoTemplate(const std::string& tmpl, const nlohmann::ordered_json& obj) {
    std::string out;
    std::size_t p = 0;
    while (p < tmpl.size()) {
        auto open = tmpl.find("{{", p);
        if (open == std::string::npos) {
            out += tmpl.substr(p);
            break;
        }
        out += tmpl.substr(p, open - p);
        auto close = tmpl.find("}}", open);
        if (close == std::string::npos) throw Error("template: unclosed action in \"" + tmpl + "\"");
        std::string action = tmpl.substr(open + 2, close - open - 2);
        auto trim = [](std::string s) {
            while (!s.empty() && (s.front() == ' ' || s.front() == '-')) s.erase(0, 1);
            while (!s.empty() && (s.back() == ' ' || s.back() == '-')) s.pop_back();
            return s;
        };
        action = trim(action);
        bool asJson = false;
        if (action.rfind("json ", 0) == 0) {
            asJson = true;
            action = trim(action.substr(5));
        }
        if (action.empty() || action[0] != '.') throw Error("template: unsupported action {{" + action + "}}");
        const nlohmann::ordered_json* v = walk(obj, action);
        if (!v) throw Error("template: can't evaluate field " + action);
        out += asJson ? v->dump() : goValue(*v);
        p = close + 2;
    }
    return out;
}

}  // namespace mydock::cli
