#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/random.h"

using mydock::randomHex;
using mydock::randomU64;

TEST(Random, HexHasTheLengthAskedAndOnlyLowercaseHexDigits) {
    for (std::size_t n : {0u, 1u, 12u, 16u, 17u, 64u}) {
        std::string s = randomHex(n);
        EXPECT_EQ(s.size(), n);
        EXPECT_EQ(s.find_first_not_of("0123456789abcdef"), std::string::npos) << s;
    }
}

TEST(Random, ValuesDoNotRepeat) {
    std::set<std::uint64_t> seen;
    for (int i = 0; i < 1000; ++i) seen.insert(randomU64());
    EXPECT_EQ(seen.size(), 1000u);
    std::set<std::string> ids;
    for (int i = 0; i < 1000; ++i) ids.insert(randomHex(64));
    EXPECT_EQ(ids.size(), 1000u);
}

TEST(Random, EveryHexDigitShowsUp) {
    // 64 * 64 digits: a generator stuck on a few nibbles would miss some.
    std::string all;
    for (int i = 0; i < 64; ++i) all += randomHex(64);
    for (char c : std::string("0123456789abcdef")) EXPECT_NE(all.find(c), std::string::npos) << c;
}
