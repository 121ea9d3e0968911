// The caller's side of `-t`: raw mode on the caller's terminal while the container runs
// (restored on every exit path), window size, and passing the pty master from the child.
#pragma once

#include <termios.h>

#include "common/unique_fd.h"

namespace mydock::runtime {

class RawTerminal {
public:
    RawTerminal() = default;
    // Puts `fd` in raw mode when it is a terminal; otherwise does nothing.
    explicit RawTerminal(int fd);
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;
    ~RawTerminal() { restore(); }
    void restore() noexcept;

private:
    int fd_ = -1;
    struct termios saved_ {};
};

// Copies the window size of the terminal `from` (if it is one) to the pty master `to`; the
// kernel then sends SIGWINCH to the container's foreground process group.
void copyWindowSize(int from, int to) noexcept;

// Receives one fd sent with SCM_RIGHTS on `sock`; an empty UniqueFd on EOF (the child failed).
UniqueFd receiveFd(int sock);

// The child's end: sends `fd` itself on the unix socket `sock` (SCM_RIGHTS, like runc's console
// socket). False with errno set on failure; never throws nor allocates (runs in forked children).
bool sendFd(int sock, int fd) noexcept;

}  // namespace mydock::runtime
