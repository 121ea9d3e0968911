// ps --filter/-n/-a selection (ps_filter.h) and docker's list formatter (ps_format.h).
#include <gtest/gtest.h>

#include "cli/ps_filter.h"
#include "cli/ps_format.h"
#include "common/error.h"

using namespace mydock;
using namespace mydock::cli;

namespace {

PsItem item(const std::string& idPrefix, const std::string& name, const std::string& state, int code = 0) {
    PsItem c;
    c.id = idPrefix + std::string(64 - idPrefix.size(), '0');
    c.name = name;
    c.state = state;
    c.exitCode = code;
    c.started = state != "created";
    c.imageId = "sha256:aaaa";
    return c;
}

// Newest first, as the container store lists them.
std::vector<PsItem> sample() {
    auto web = item("abc1", "web", "running");
    web.labels = {{"tier", "front"}, {"env", "prod"}};
    web.networks = {"bridge"};
    web.publishedPorts = {"8080/tcp"};
    web.exposedPorts = {"80/tcp"};
    auto job = item("abc2", "job", "exited", 3);
    job.imageId = "sha256:bbbb";
    job.labels = {{"tier", "back"}};
    job.networks = {"none"};
    job.volumes = {"/srv/data", "/data"};
    auto fresh = item("def3", "fresh", "created");
    auto ok = item("def4", "web-old", "exited", 0);
    return {web, job, fresh, ok};
}

std::vector<std::string> names(const std::vector<std::string>& filters, PsSelection sel = {},
                               const std::set<std::string>& ancestors = {}) {
    auto items = sample();
    std::vector<std::string> out;
    for (auto i : selectContainers(items, PsFilters::parse(filters), sel, ancestors)) out.push_back(items[i].name);
    return out;
}

using V = std::vector<std::string>;

}  // namespace

TEST(PsFilter, DefaultShowsRunningOnlyAndAllShowsEverything) {
    EXPECT_EQ(names({}), V({"web"}));
    EXPECT_EQ(names({}, {true, -1}), V({"web", "job", "fresh", "web-old"}));
}

TEST(PsFilter, LastAndLatestIncludeAllStates) {
    EXPECT_EQ(names({}, {false, 1}), V({"web"}));
    EXPECT_EQ(names({}, {false, 2}), V({"web", "job"}));
    EXPECT_EQ(names({"status=exited"}, {false, 1}), V({"job"}));
    EXPECT_EQ(names({}, {false, 0}), V({"web"}));   // -n 0: no limit, running only
}

TEST(PsFilter, StatusImpliesAllAndValuesOr) {
    EXPECT_EQ(names({"status=exited"}), V({"job", "web-old"}));
    EXPECT_EQ(names({"status=exited", "status=created"}), V({"job", "fresh", "web-old"}));
    EXPECT_EQ(names({"status=paused"}), V({}));
}

TEST(PsFilter, DifferentKeysAnd) {
    EXPECT_EQ(names({"status=exited", "name=web"}), V({"web-old"}));
    EXPECT_EQ(names({"name=web", "name=job"}, {true, -1}), V({"web", "job", "web-old"}));
}

TEST(PsFilter, NameIsARegexpWithOrWithoutSlash) {
    EXPECT_EQ(names({"name=^web$"}, {true, -1}), V({"web"}));
    EXPECT_EQ(names({"name=^/job"}, {true, -1}), V({"job"}));
    EXPECT_EQ(names({"name=eb-o"}, {true, -1}), V({"web-old"}));
    EXPECT_EQ(names({"name=[bad"}, {true, -1}), V({}));   // an invalid regexp matches nothing
}

TEST(PsFilter, IdIsAPrefix) {
    EXPECT_EQ(names({"id=abc"}, {true, -1}), V({"web", "job"}));
    EXPECT_EQ(names({"id=def4"}, {true, -1}), V({"web-old"}));
    EXPECT_EQ(names({"id=bc1"}, {true, -1}), V({}));
}

TEST(PsFilter, ExitedNeedsAStartedStoppedContainer) {
    EXPECT_EQ(names({"exited=0"}, {true, -1}), V({"web-old"}));   // not "fresh" (never started)
    EXPECT_EQ(names({"exited=3", "exited=0"}, {true, -1}), V({"job", "web-old"}));
}

TEST(PsFilter, LabelsAllMustHold) {
    EXPECT_EQ(names({"label=tier"}, {true, -1}), V({"web", "job"}));
    EXPECT_EQ(names({"label=tier=front"}, {true, -1}), V({"web"}));
    EXPECT_EQ(names({"label=tier", "label=env=prod"}, {true, -1}), V({"web"}));
    EXPECT_EQ(names({"label=tier=front", "label=tier=back"}, {true, -1}), V({}));
}

TEST(PsFilter, AncestorMatchesResolvedImageIds) {
    EXPECT_EQ(names({"ancestor=x"}, {true, -1}, {"sha256:bbbb"}), V({"job"}));
    EXPECT_EQ(names({"ancestor=unknown"}, {true, -1}, {}), V({}));
}

TEST(PsFilter, BeforeAndSince) {
    EXPECT_EQ(names({"before=job"}, {true, -1}), V({"fresh", "web-old"}));
    EXPECT_EQ(names({"since=fresh"}, {true, -1}), V({"web", "job"}));
    EXPECT_EQ(names({"since=web-old", "before=web"}, {true, -1}), V({"job", "fresh"}));
    EXPECT_EQ(names({"before=abc2"}, {true, -1}), V({"fresh", "web-old"}));   // unique id prefix
    EXPECT_EQ(names({"before=job"}), V({}));   // without -a: running ones only
    EXPECT_THROW(names({"before=nope"}), Error);
    EXPECT_THROW(names({"since=abc"}), Error);   // ambiguous prefix
}

TEST(PsFilter, NetworkVolumePorts) {
    EXPECT_EQ(names({"network=none"}, {true, -1}), V({"job"}));
    EXPECT_EQ(names({"volume=/data"}, {true, -1}), V({"job"}));
    EXPECT_EQ(names({"volume=/srv/data"}, {true, -1}), V({"job"}));
    EXPECT_EQ(names({"publish=8080"}, {true, -1}), V({"web"}));
    EXPECT_EQ(names({"publish=8000-8090/tcp"}, {true, -1}), V({"web"}));
    EXPECT_EQ(names({"publish=8080/udp"}, {true, -1}), V({}));
    EXPECT_EQ(names({"expose=80"}, {true, -1}), V({"web"}));
    EXPECT_EQ(names({"is-task=false", "health=none", "isolation=default"}, {true, -1}).size(), 4u);
    EXPECT_EQ(names({"is-task=true"}, {true, -1}), V({}));
}

TEST(PsFilter, KeysAreLowercasedAndTrimmed) {
    EXPECT_EQ(names({" NAME = job "}, {true, -1}), V({"job"}));
}

TEST(PsFilter, DockerErrors) {
    auto msg = [](const std::vector<std::string>& f) {
        try {
            PsFilters::parse(f);
        } catch (const Error& e) {
            EXPECT_EQ(e.exitCode(), 125);
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(msg({"bogus=1"}), "invalid filter 'bogus'");
    EXPECT_EQ(msg({"status=sleeping"}), "invalid filter 'status=sleeping'");
    EXPECT_EQ(msg({"exited=x"}), "strconv.Atoi: parsing \"x\": invalid syntax");
    EXPECT_EQ(msg({"health=fine"}), "Unrecognised filter value for health: fine");
    EXPECT_EQ(msg({"publish=1:2"}), "filter for 'publish' should not contain ':': 1:2");
    EXPECT_EQ(msg({"noequals"}),
              "invalid argument \"noequals\" for \"-f, --filter\" flag: bad format of filter (expected name=value)");
    EXPECT_EQ(msg({"status=running", "label=a=b=c"}), "no error");
}

TEST(PsFormat, TabwriterPadsColumnsByRunes) {
    EXPECT_EQ(goTabwrite("A\tB\nlonger value\tx\n"), "A              B\nlonger value   x\n");
    EXPECT_EQ(goTabwrite("\u2026\tb\n"), "\u2026         b\n");   // one rune, not three bytes
    EXPECT_EQ(goTabwrite("no tabs\n"), "no tabs\n");
}

TEST(PsFormat, FormatsAsDocker) {
    nlohmann::ordered_json header = {{"ID", "CONTAINER ID"}, {"Names", "NAMES"}};
    std::vector<nlohmann::ordered_json> rows = {{{"ID", "abc"}, {"Names", "a<b"}}, {{"ID", "def"}, {"Names", "x"}}};
    const std::string table = "table {{.ID}}\t{{.Names}}";
    EXPECT_EQ(formatList("", table, header, rows), "CONTAINER ID   NAMES\nabc            a<b\ndef            x\n");
    EXPECT_EQ(formatList("table", table, header, rows), formatList("", table, header, rows));
    EXPECT_EQ(formatList("{{.Names}}", table, header, rows), "a<b\nx\n");
    EXPECT_EQ(formatList("{{.ID}}\\t{{.Names}}", table, header, rows), "abc\ta<b\ndef\tx\n");
    EXPECT_EQ(formatList("table {{.Names}}", table, header, rows), "NAMES\na<b\nx\n");
    EXPECT_EQ(formatList("json", table, header, rows), "{\"ID\":\"abc\",\"Names\":\"a\\u003cb\"}\n{\"ID\":\"def\",\"Names\":\"x\"}\n");
    EXPECT_EQ(formatList("{{json .}}", table, header, rows), formatList("json", table, header, rows));
    EXPECT_EQ(formatList("table", table, header, {}), "CONTAINER ID   NAMES\n");
    EXPECT_THROW(formatList("{{.Nope}}", table, header, rows), Error);
}

TEST(PsFormat, RowHasDockersFieldsLabelAndSizes) {
    runtime::ContainerRecord r;
    r.id = std::string(64, 'a');
    r.name = "web";
    r.image = "busybox";
    r.command = {"sh", "-c", "echo a b > /x"};
    r.created = "2026-01-02T03:04:05.123Z";
    r.finishedAt = r.created;
    r.state = "exited";
    r.exitCode = 2;
    r.extra = {{"Config", {{"Labels", {{"b", "2"}, {"a.b-c", "1"}}}}},
               {"HostConfig", {{"Binds", {"/very/long/source/dir:/data:ro"}}}},
               {"NetworkSettings", {{"Networks", {{"none", nlohmann::json::object()}}}, {"Ports", nlohmann::json::object()}}}};
    auto row = psRow(r, true, nullptr);
    EXPECT_EQ(formatList("{{.ID}}|{{.Command}}|{{.Labels}}|{{.Label \"b\"}}|{{.Label \"zz\"}}|{{.Mounts}}|{{.Networks}}|{{.Size}}|"
                         "{{.State}}|{{.CreatedAt}}",
                         kPsTableFormat, psHeader(), {row}),
              "aaaaaaaaaaaa|\"sh -c 'echo a b > /\u2026\"|a.b-c=1,b=2|2||/very/long/sou\u2026|none|0B|exited|"
              "2026-01-02 03:04:05 +0000 UTC\n");
    EXPECT_EQ(formatList("table {{.Names}}\t{{.Label \"a.b-c\"}}", kPsTableFormat, psHeader(), {row}),
              "NAMES     b c\nweb       1\n");
    // {{json .}}: docker's 14 keys, no trace of the labels kept for .Label.
    auto json = nlohmann::json::parse(formatList("json", kPsTableFormat, psHeader(), {row}));
    EXPECT_EQ(json.size(), 14u);
    EXPECT_EQ(json["Status"].get<std::string>().rfind("Exited (2) ", 0), 0u);
    PsSizes sz{12, 1000012};
    EXPECT_EQ(psRow(r, false, &sz)["Size"], "12B (virtual 1MB)");
    EXPECT_EQ(psRow(r, false, nullptr)["Command"], "\"sh -c 'echo a b > /x'\"");
    EXPECT_EQ(psItem(r).volumes, V({"/very/long/source/dir", "/data"}));
}
