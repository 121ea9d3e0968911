// The json-file writer and reader: what a container writes comes back byte for byte (valid
// UTF-8), split as docker splits, with invalid bytes replaced rather than lost.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "common/fs.h"
#include "runtime/logs.h"

using namespace mydock;
using namespace mydock::runtime;

namespace {

// Runs writeJsonLog on two pipes fed with `out` and `err` (written whole, then closed), and
// returns the parsed entries of the resulting log.
std::vector<LogEntry> roundTrip(const std::string& out, const std::string& err, std::string* raw = nullptr) {
    fs::TempDir dir;
    const std::string path = dir.path() + "/c-json.log";
    int po[2], pe[2];
    EXPECT_EQ(::pipe(po), 0);
    EXPECT_EQ(::pipe(pe), 0);
    std::thread writer([&] { writeJsonLog(UniqueFd(po[0]), UniqueFd(pe[0]), path); });
    auto feed = [](int fd, const std::string& data) {
        std::size_t off = 0;
        while (off < data.size()) {
            ssize_t n = ::write(fd, data.data() + off, data.size() - off);
            if (n <= 0) break;
            off += static_cast<std::size_t>(n);
        }
        ::close(fd);
    };
    std::thread a(feed, po[1], out), b(feed, pe[1], err);
    a.join();
    b.join();
    writer.join();
    std::string text = fs::readFile(path);
    if (raw) *raw = text;
    std::string buf = text;
    auto entries = takeLogEntries(buf);
    EXPECT_TRUE(buf.empty()) << "unparsed: " << buf;
    return entries;
}

std::string joined(const std::vector<LogEntry>& v, const std::string& stream) {
    std::string s;
    for (const auto& e : v)
        if (e.stream == stream) s += e.log;
    return s;
}

}  // namespace

TEST(JsonLog, LinesComeBackWithTheirStreamAndATime) {
    auto v = roundTrip("one\ntwo\nlast without newline", "err 1\n");
    ASSERT_EQ(v.size(), 4u);
    EXPECT_EQ(joined(v, "stdout"), "one\ntwo\nlast without newline");
    EXPECT_EQ(joined(v, "stderr"), "err 1\n");
    for (const auto& e : v) {
        EXPECT_EQ(e.time.size(), std::string("2026-01-01T00:00:00.000000000Z").size()) << e.time;
        EXPECT_EQ(e.time.back(), 'Z');
    }
}

TEST(JsonLog, EscapesAndValidUtf8SurviveAsTheyAre) {
    std::string tricky = "quote \" backslash \\ tab \t cr \r bell \a nul ";
    tricky += '\0';
    tricky += " esc \x1b[31m é € 😀 <>&/\n";
    std::string raw;
    auto v = roundTrip(tricky, "", &raw);
    EXPECT_EQ(joined(v, "stdout"), tricky);
    // docker's key order, one object per line.
    EXPECT_EQ(raw.rfind("{\"log\":", 0), 0u) << raw;
    EXPECT_NE(raw.find("\",\"stream\":\"stdout\",\"time\":\""), std::string::npos) << raw;
}

TEST(JsonLog, InvalidUtf8BecomesTheReplacementCharacter) {
    // A lone continuation byte, a truncated sequence, an overlong form, a surrogate.
    auto v = roundTrip("a\x80" "b\xe2\x82" "c\xc0\xaf" "d\xed\xa0\x80" "e\n", "");
    const std::string r = "\xef\xbf\xbd";
    EXPECT_EQ(joined(v, "stdout"), "a" + r + "b" + r + r + "c" + r + r + "d" + r + r + r + "e\n");
}

TEST(JsonLog, LongLinesAreSplitAt16KiBAndManyLinesAllArrive) {
    std::string big(40000, 'x');
    big += "\n";
    std::string many;
    for (int i = 0; i < 20000; ++i) many += std::to_string(i) + "\n";
    auto v = roundTrip(big, many);
    EXPECT_EQ(joined(v, "stdout"), big);
    EXPECT_EQ(joined(v, "stderr"), many);
    std::size_t outEntries = 0;
    for (const auto& e : v)
        if (e.stream == "stdout") {
            ++outEntries;
            EXPECT_LE(e.log.size(), 16u * 1024);
        }
    EXPECT_EQ(outEntries, 3u);   // 16 KiB + 16 KiB + the rest with its newline
}
