// docker's container listing output (ps, system df -v): one row object per container with
// docker's field names, rendered as a table, JSON lines or a Go template (--format).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/ps_filter.h"
#include "runtime/container_store.h"

namespace mydock::cli {

// docker's default `ps` table.
inline constexpr const char* kPsTableFormat =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

// Bytes a directory holds as docker's directory.Size counts them: st_size of every entry
// but directories, each inode once (hardlinks), not following links. 0 when absent.
std::int64_t dirUsage(const std::string& dir);

// A container's writable layer (its upper dir) and, when its image is known, the image's size.
struct PsSizes {
    std::int64_t rw = 0;        // SizeRw
    std::int64_t rootFs = 0;    // SizeRootFs: rw + the image's layers; 0 when unknown
};

// The row docker's ContainerContext gives templates and {{json .}}: every value a string, keys
// in Go's (sorted) order. sizes null: Size is "0B", as docker prints it when not asked for.
nlohmann::ordered_json psRow(const runtime::ContainerRecord& r, bool trunc, const PsSizes* sizes);
// The table header of each field ("CONTAINER ID" for .ID ...).
const nlohmann::ordered_json& psHeader();
// What --filter looks at.
PsItem psItem(const runtime::ContainerRecord& r);

// docker's formatter: `format` "" or "table" = defaultTable; "json" = {{json .}} per line;
// "table TEMPLATE" = a header row (TEMPLATE over `header`) then one row per object, aligned by
// Go's tabwriter; anything else a Go template per object. Literal \t and \n become tab and
// newline, as docker's CLI does. Throws mydock::Error on a template it cannot render.
std::string formatList(const std::string& format, const std::string& defaultTable, const nlohmann::ordered_json& header,
                       const std::vector<nlohmann::ordered_json>& rows);

// Go's text/tabwriter as docker sets it up (minwidth 10, padding 3), widths in runes: cells end
// at a tab; the text after a line's last tab is not aligned.
std::string goTabwrite(const std::string& text);

}  // namespace mydock::cli
