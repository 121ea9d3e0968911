#include "runtime/terminal.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace mydock::runtime {

RawTerminal::RawTerminal(int fd) {
    if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
    struct termios raw = saved_;
    // Raw: every key (Ctrl-C, Ctrl-Z, ^D) goes to the container's pty, whose own line
    // discipline turns it into signals for the container's foreground job.
    ::cfmakeraw(&raw);
    if (::tcsetattr(fd, TCSADRAIN, &raw) == 0) fd_ = fd;
}

void RawTerminal::restore() noexcept {
    if (fd_ < 0) return;
    ::tcsetattr(fd_, TCSADRAIN, &saved_);
    fd_ = -1;
}

void copyWindowSize(int from, int to) noexcept {
    struct winsize ws {};
    if (::ioctl(from, TIOCGWINSZ, &ws) == 0 && (ws.ws_row || ws.ws_col)) ::ioctl(to, TIOCSWINSZ, &ws);
}

namespace {

// A one-byte message with room for one SCM_RIGHTS fd: the shape both ends of the pty master's
// trip use. Points into itself, so it stays where it is built.
struct FdMessage {
    char data = 'T';
    struct iovec iov {&data, 1};
    alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
    struct msghdr msg {};
    FdMessage() {
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = buf;
        msg.msg_controllen = sizeof buf;
    }
    FdMessage(const FdMessage&) = delete;
    FdMessage& operator=(const FdMessage&) = delete;
};

}  // namespace

UniqueFd receiveFd(int sock) {
    FdMessage m;
    ssize_t n;
    do n = ::recvmsg(sock, &m.msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) throwErrno("receive the container's pty");
    if (n == 0) return UniqueFd();
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&m.msg); c; c = CMSG_NXTHDR(&m.msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
            return UniqueFd(fd);
        }
    }
    throw Error("the container sent no pty");
}

bool sendFd(int sock, int fd) noexcept {
    FdMessage m;
    struct cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;   // the fd itself travels, not its number
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t n;
    do n = ::sendmsg(sock, &m.msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n >= 0;
}

}  // namespace mydock::runtime
