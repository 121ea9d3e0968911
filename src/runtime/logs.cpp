#include "runtime/logs.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include <nlohmann/json.hpp>

#include "runtime/container_store.h"

namespace mydock::runtime {

namespace {

constexpr std::size_t kMaxLine = 16 * 1024;   // docker's json-file splits longer lines

// The length of the valid UTF-8 sequence at s[i], or 0 when the byte there starts none
// (overlong forms, surrogates and code points past U+10FFFF are invalid, as for Go).
std::size_t utf8Length(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    std::size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (c >= 0xf5 || n == 0 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((b(i + k) & 0xc0) != 0x80) return 0;
    if (n == 3 && ((c == 0xe0 && b(i + 1) < 0xa0) || (c == 0xed && b(i + 1) >= 0xa0))) return 0;
    if (n == 4 && ((c == 0xf0 && b(i + 1) < 0x90) || (c == 0xf4 && b(i + 1) >= 0x90))) return 0;
    return n;
}

// `text` as a JSON string. Invalid UTF-8 from the container must not lose the line: each bad
// byte becomes U+FFFD, as Go's encoder (docker's) does.
void appendJsonString(std::string& out, std::string_view text) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < text.size();) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c >= 0x80) {
            std::size_t n = utf8Length(text, i);
            if (n == 0) {
                out += "\xef\xbf\xbd";
                ++i;
            } else {
                out.append(text, i, n);
                i += n;
            }
            continue;
        }
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 15];
                } else {
                    out += static_cast<char>(c);
                }
        }
        ++i;
    }
    out += '"';
}

// One entry: {"log":...,"stream":...,"time":...} and a newline (the keys in the order docker
// writes them).
void appendEntry(std::string& out, std::string_view text, const char* stream, const std::string& time) {
    out += "{\"log\":";
    appendJsonString(out, text);
    out += ",\"stream\":\"";
    out += stream;
    out += "\",\"time\":\"";
    out += time;
    out += "\"}\n";
}

void writeAll(int fd, const std::string& data) {
    const char* p = data.data();
    std::size_t n = data.size();
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

// Writes the complete lines of `s` (all of it at EOF) as entries. The lines of one read share
// one timestamp (they arrived together) and go out in one write on the O_APPEND fd: a reader
// never sees half an entry, and a chatty container costs a syscall per read, not per line.
void flushLines(int out, Source& s, bool atEof) {
    std::string batch, time;
    auto add = [&](std::string_view text) {
        if (time.empty()) time = nowRfc3339();
        appendEntry(batch, text, s.stream, time);
    };
    std::string_view pending = s.pending;
    std::size_t start = 0;
    for (;;) {
        std::size_t nl = pending.find('\n', start);
        if (nl == std::string::npos || nl - start >= kMaxLine) {
            if (pending.size() - start >= kMaxLine) {
                add(pending.substr(start, kMaxLine));
                start += kMaxLine;
                continue;
            }
            break;
        }
        add(pending.substr(start, nl + 1 - start));
        start = nl + 1;
    }
    if (atEof && start < pending.size()) {
        add(pending.substr(start));
        start = pending.size();
    }
    if (!batch.empty()) writeAll(out, batch);
    s.pending.erase(0, start);
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
