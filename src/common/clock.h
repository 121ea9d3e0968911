// Milliseconds of CLOCK_MONOTONIC: for deadlines and backoffs, never for dates.
#pragma once

#include <time.h>

namespace mydock {

inline long long monotonicMs() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace mydock
