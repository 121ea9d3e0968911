// Safe extraction of tar entries (read by libarchive) into a directory, with file
// descriptors only: every path is resolved component by component from the layer root with
// O_NOFOLLOW, so no entry can create, change or follow anything outside it (store.md, 7).
#pragma once

#include <sys/stat.h>
#include <time.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/unique_fd.h"

struct archive;
struct archive_entry;

namespace mydock::image::unpack {

class TarExtractor {
public:
    // rootFd: the layer directory, opened O_RDONLY|O_DIRECTORY (not owned).
    TarExtractor(int rootFd, std::uint64_t maxBytes, std::uint64_t maxEntries);

    void extractAll(struct archive* a);   // every entry until the end of the archive
    // Sets the deferred directory times, then syncs the file system once (syncfs).
    void complete();

    std::uint64_t entries() const { return entries_; }
    std::int64_t size() const { return size_; }

private:
    struct Meta;
    void extractEntry(struct archive* a, struct archive_entry* e);
    int parentFd(const std::vector<std::string>& parts, std::size_t n, bool create,
                 const std::string& entryName);
    UniqueFd walkTransient(const std::vector<std::string>& parts, std::size_t n,
                           const std::string& entryName);
    void removeExisting(int dirFd, const std::string& name);
    std::int64_t writeFileData(struct archive* a, int fd, const std::string& entryName);
    void applyXattrs(struct archive_entry* e, int fd, int dirFd, const std::string& name,
                     bool isLink, const std::string& entryName);

    int root_;
    std::uint64_t maxBytes_, maxEntries_;
    bool isRoot_;
    std::uint64_t entries_ = 0;
    std::int64_t size_ = 0;

    // The current entry's parent chain: fds_[i] is the directory parts[0..i]. Consecutive
    // entries usually share a parent, so most entries cost no path walk at all.
    static constexpr std::size_t kMaxCached = 128;
    std::vector<std::string> names_;
    std::vector<UniqueFd> fds_;
    std::string deepKey_;             // parent deeper than kMaxCached: one cached fd
    UniqueFd deepFd_;

    struct DirTimes {
        std::string path;             // normalised "a/b", "" for the root
        struct timespec ts[2];
    };
    std::vector<DirTimes> dirTimes_;
};

// Removes `name` in dirFd and everything below it, never following a symlink; iterative
// (holds one directory fd at a time whatever the depth).
void removeTreeAt(int dirFd, const std::string& name);
// Empties a directory (for restart), keeping the directory itself.
void wipeDirContents(int dirFd);

}  // namespace mydock::image::unpack
