// Diagnostics on stderr, filtered by --log-level. User-facing output is the CLI's, not this.
#pragma once

#include <string>

namespace mydock::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void setLevel(Level l);
Level level();
bool parseLevel(const std::string& s, Level& out);
void write(Level l, const std::string& msg);

inline void debug(const std::string& m) { if (level() <= Level::Debug) write(Level::Debug, m); }
inline void info(const std::string& m) { if (level() <= Level::Info) write(Level::Info, m); }
inline void warn(const std::string& m) { if (level() <= Level::Warn) write(Level::Warn, m); }
inline void error(const std::string& m) { write(Level::Error, m); }

}  // namespace mydock::log
