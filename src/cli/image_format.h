// Docker's ways of printing image facts (sizes, ages, JSON, tables). Shared by the image verbs.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mydock::cli {

// docker's units.HumanSizeWithPrecision: 1000-based, "%.<p>g" + unit ("4.26MB", "0B").
std::string humanSize(double bytes, int precision = 3);
// docker's units.HumanDuration ("About an hour", "3 weeks", "Less than a second").
std::string humanDuration(std::int64_t seconds);
// RFC 3339 ("2023-05-18T22:34:17.9319Z", "...+02:00") to unix seconds; 0 when unparsable.
std::int64_t parseRfc3339(const std::string& s);
// Go's time.Time.String() in local time: "2023-05-18 22:34:17 +0000 UTC".
std::string goTimeString(std::int64_t unixSeconds);
// Go's json.Marshal escapes <, > and & as \u003c, \u003e, \u0026; do the same.
std::string goJsonEscape(const std::string& json);

// Go's text/tabwriter as docker's CLI configures it (minwidth 10, padding 3, spaces).
std::string tabwrite(const std::vector<std::vector<std::string>>& rows);

// A small subset of Go's text/template for --format: text with {{.Field.Sub}} and
// {{json .Field}} actions; throws mydock::Error on anything else.
std::string renderGoTemplate(const std::string& tmpl, const nlohmann::ordered_json& obj);

}  // namespace mydock::cli
