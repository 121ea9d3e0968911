// Errors of mydock: a message with context, an errno where one applies, and the exit status
// the CLI turns it into (docker's convention: 125 for mydock's own failures).
#pragma once

#include <stdexcept>
#include <string>

namespace mydock {

// Exit statuses shared by the CLI and the runtime (cli.md, "Exit status").
inline constexpr int kExitEngineError = 125;   // mydock itself failed
inline constexpr int kExitCannotInvoke = 126;  // command found but cannot be executed
inline constexpr int kExitNotFound = 127;      // command not found

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message, int exitCode = kExitEngineError, int err = 0)
        : std::runtime_error(message), exitCode_(exitCode), errno_(err) {}

    int exitCode() const noexcept { return exitCode_; }
    int sysErrno() const noexcept { return errno_; }

private:
    int exitCode_;
    int errno_;
};

// "what: strerror(errno)" as an Error; the errno is kept for callers that branch on it.
[[noreturn]] void throwErrno(const std::string& what, int err);
[[noreturn]] void throwErrno(const std::string& what);  // uses the current errno

// Re-throws the current exception with "context: " in front of its message (same type kept
// for mydock::Error, exit code and errno preserved).
[[noreturn]] void rethrowWithContext(const std::string& context);

}  // namespace mydock
