#include "common/random.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace mydock {

std::uint64_t randomU64() {
    std::uint64_t v = 0;
    // getrandom from the kernel's urandom pool; it only blocks before the pool is first
    // initialised at boot, which GRND_NONBLOCK turns into EAGAIN.
    ssize_t n;
    do n = ::getrandom(&v, sizeof v, GRND_NONBLOCK);
    while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof v)) return v;
    // Very early boot (or a seccomp profile refusing getrandom): unique rather than
    // unpredictable, from the clock, the pid and a counter (splitmix64's finaliser).
    static std::atomic<std::uint64_t> counter{0};
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    std::uint64_t z = (static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<std::uint64_t>(ts.tv_nsec)) ^
                      (static_cast<std::uint64_t>(::getpid()) << 40) ^ (counter.fetch_add(1) * 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

std::string randomHex(std::size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(n);
    while (s.size() < n) {
        std::uint64_t v = randomU64();
        for (int i = 0; i < 16 && s.size() < n; ++i, v >>= 4) s += digits[v & 15];
    }
    return s;
}

}  // namespace mydock
