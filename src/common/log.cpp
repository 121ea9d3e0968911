#include "common/log.h"

#include <unistd.h>

#include <atomic>

namespace mydock::log {

namespace {
std::atomic<Level> g_level{Level::Warn};
}

void setLevel(Level l) { g_level = l; }
Level level() { return g_level; }

bool parseLevel(const std::string& s, Level& out) {
    if (s == "debug") out = Level::Debug;
    else if (s == "info") out = Level::Info;
    else if (s == "warn" || s == "warning") out = Level::Warn;
    else if (s == "error" || s == "fatal") out = Level::Error;
    else return false;
    return true;
}

void write(Level l, const std::string& msg) {
    static const char* names[] = {"DEBU", "INFO", "WARN", "ERRO"};
    std::string line = std::string(names[static_cast<int>(l)]) + "[mydock] " + msg + "\n";
    // One write(2) per line so that lines from threads and processes do not interleave.
    ssize_t r = ::write(STDERR_FILENO, line.data(), line.size());
    (void)r;
}

}  // namespace mydock::log
