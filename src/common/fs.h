// Small file-system helpers that every module needs. All of them throw mydock::Error with the
// path in the message; none follows a symlink it was not asked to follow.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>

namespace mydock::fs {

std::string readFile(const std::string& path);                 // whole file
bool readFileIfExists(const std::string& path, std::string& out);
bool exists(const std::string& path);                           // lstat succeeds
bool isDir(const std::string& path);                            // stat, follows links

// Writes `data` to a temp file beside `path`, optionally fsyncs it, renames it over `path`,
// and (with durable) fsyncs the directory: readers see the old or the new file, never a part.
void writeFileAtomic(const std::string& path, std::string_view data, bool durable = true,
                     mode_t mode = 0644);

void makeDirs(const std::string& path, mode_t mode = 0755);     // mkdir -p
void fsyncPath(const std::string& path);                        // file or directory

// rm -rf that never follows symlinks and never crosses into another mount; a missing path
// is not an error. Works on trees with read-only dirs (fixes modes as it goes).
void removeTree(const std::string& path);

std::string join(std::string_view a, std::string_view b);       // "a/b", no doubled slash
std::string dirname(std::string_view path);
std::string basename(std::string_view path);

// A directory made by mkdtemp, removed with its contents when this object dies.
class TempDir {
public:
    explicit TempDir(const std::string& parent = "/tmp", const std::string& prefix = "mydock-");
    TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();
    const std::string& path() const { return path_; }
    std::string release() { return std::exchange(path_, std::string()); }

private:
    std::string path_;
};

}  // namespace mydock::fs
