// Container output in docker's json-file format: one JSON object per line,
// {"log":"text\n","stream":"stdout|stderr","time":"RFC 3339, nanoseconds"}, in
// $ROOT/containers/<id>/<id>-json.log. Written by the detached container's monitor, read by
// `mydock logs`.
#pragma once

#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace mydock::runtime {

struct LogEntry {
    std::string log;      // the bytes, a trailing "\n" included when the line had one
    std::string stream;   // "stdout" or "stderr"
    std::string time;     // RFC 3339 UTC with nanoseconds
};

// Copies both fds to `path` (appended, one entry per line; lines longer than 16 KiB are split
// as docker splits them) until both reach EOF. Never throws; write errors drop output.
void writeJsonLog(UniqueFd out, UniqueFd err, const std::string& path) noexcept;

// Parses one line of a json-file log; false for a malformed one.
bool parseLogLine(const std::string& line, LogEntry& e);

// Splits `buf` into complete lines (consumed from it) and parses them; an unfinished last line
// stays in `buf` for the next read.
std::vector<LogEntry> takeLogEntries(std::string& buf);

}  // namespace mydock::runtime
