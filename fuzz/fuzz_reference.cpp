// libFuzzer target: image reference parsing must accept or reject any string, never crash,
// and what it accepts must print back to a form that parses to the same reference.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.h"
#include "registry/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string s(reinterpret_cast<const char*>(data), size);
    try {
        auto ref = mydock::registry::Reference::parse(s);
        auto again = mydock::registry::Reference::parse(ref.string());
        if (again.string() != ref.string()) __builtin_trap();
        (void)ref.familiar();
        (void)ref.apiHost();
    } catch (const mydock::Error&) {
    }
    return 0;
}
