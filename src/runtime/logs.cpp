#include "runtime/logs.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include <nlohmann/json.hpp>

#include "runtime/container_store.h"

namespace mydock::runtime {

namespace {

constexpr std::size_t kMaxLine = 16 * 1024;   // docker's json-file splits longer lines

void appendEntry(int fd, const std::string& text, const char* stream) {
    nlohmann::json j = {{"log", text}, {"stream", stream}, {"time", nowRfc3339()}};
    // Invalid UTF-8 from the container must not lose the line: replaced, as Go's encoder does.
    std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    // One write per entry on an O_APPEND fd: a reader never sees half an entry from us.
    const char* p = line.data();
    std::size_t n = line.size();
    while (n) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

struct Source {
    UniqueFd fd;
    const char* stream;
    std::string pending;
};

void flushLines(int out, Source& s, bool atEof) {
    std::size_t start = 0;
    for (;;) {
        std::size_t nl = s.pending.find('\n', start);
        if (nl == std::string::npos || nl - start >= kMaxLine) {
            if (s.pending.size() - start >= kMaxLine) {
                appendEntry(out, s.pending.substr(start, kMaxLine), s.stream);
                start += kMaxLine;
                continue;
            }
            break;
        }
        appendEntry(out, s.pending.substr(start, nl + 1 - start), s.stream);
        start = nl + 1;
    }
    s.pending.erase(0, start);
    if (atEof && !s.pending.empty()) {
        appendEntry(out, s.pending, s.stream);
        s.pending.clear();
    }
}

}  // namespace

void writeJsonLog(UniqueFd out, UniqueFd err, const std::string& path) noexcept {
    try {
        UniqueFd log(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
        Source src[2] = {{std::move(out), "stdout", {}}, {std::move(err), "stderr", {}}};
        char buf[65536];
        for (;;) {
            struct pollfd pf[2];
            nfds_t n = 0;
            Source* polled[2];
            for (auto& s : src)
                if (s.fd) {
                    pf[n] = {s.fd.get(), POLLIN, 0};
                    polled[n++] = &s;
                }
            if (n == 0) return;
            if (::poll(pf, n, -1) < 0) {
                if (errno == EINTR) continue;
                return;
            }
            for (nfds_t i = 0; i < n; ++i) {
                if (!pf[i].revents) continue;
                Source& s = *polled[i];
                ssize_t r = ::read(s.fd.get(), buf, sizeof buf);
                if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
                if (r <= 0) {
                    // EOF (or EIO from a pty whose other side is gone): the rest, then done.
                    if (log) flushLines(log.get(), s, true);
                    s.fd.reset();
                    continue;
                }
                s.pending.append(buf, static_cast<std::size_t>(r));
                if (log) flushLines(log.get(), s, false);
                else s.pending.clear();
            }
        }
    } catch (...) {
    }
}

bool parseLogLine(const std::string& line, LogEntry& e) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return false;
    try {
        e.log = j.value("log", "");
        e.stream = j.value("stream", "stdout");
        e.time = j.value("time", "");
    } catch (const nlohmann::json::exception&) {
        return false;
    }
    return true;
}

std::vector<LogEntry> takeLogEntries(std::string& buf) {
    std::vector<LogEntry> out;
    std::size_t start = 0;
    for (std::size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
        LogEntry e;
        if (parseLogLine(buf.substr(start, nl - start), e)) out.push_back(std::move(e));
    }
    buf.erase(0, start);
    return out;
}

}  // namespace mydock::runtime
