// Unpredictable numbers for names (container ids, temporary file suffixes, generated
// container names): not for keys. One getrandom(2) per call, rather than seeding a
// std::mt19937_64 from std::random_device per thread, whose setup probes the CPU (cpuid, a
// trap to the hypervisor in a VM) and reads 5 KB of state into being.
#pragma once

#include <cstdint>
#include <string>

namespace mydock {

std::uint64_t randomU64();
// `n` lowercase hex digits.
std::string randomHex(std::size_t n);

}  // namespace mydock
