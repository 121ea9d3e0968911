// libFuzzer target: WWW-Authenticate headers and token responses come from the network.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/error.h"
#include "registry/auth.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);
    for (const auto& c : mydock::registry::parseChallenges(s)) (void)c.param("realm");
    try {
        (void)mydock::registry::parseTokenResponse(s, std::chrono::steady_clock::now());
    } catch (const mydock::Error&) {
    }
    (void)mydock::registry::base64Decode(s);
    return 0;
}
