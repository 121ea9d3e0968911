// libFuzzer target: manifests, indexes and image configs are untrusted JSON.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/error.h"
#include "registry/types.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace mydock::registry;
    std::string_view s(reinterpret_cast<const char*>(data), size);
    try {
        (void)classifyManifest("", s);
    } catch (const mydock::Error&) {
    }
    try {
        (void)parseManifest(s);
    } catch (const mydock::Error&) {
    }
    try {
        auto idx = parseIndex(s);
        (void)idx.select(Platform::host());
    } catch (const mydock::Error&) {
    }
    try {
        (void)parseImageConfig(s);
    } catch (const mydock::Error&) {
    }
    return 0;
}
