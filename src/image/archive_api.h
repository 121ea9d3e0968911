// libarchive, loaded on first use. mydock does not link libarchive: with its compression
// libraries (lzma, lz4, bz2, libxml2 and ICU through it, ...) it costs milliseconds of loading
// at every start, while only unpacking a layer reads tar. The first caller of archiveApi()
// dlopens "libarchive.so.13" (its stable SONAME) and resolves the functions below, once per
// process; every other call returns the same table.
//
// Types and constants still come from <archive.h> and <archive_entry.h>; calls go through
// the table: archiveApi().read_next_header(a, &e).
#pragma once

#include <archive.h>
#include <archive_entry.h>

namespace mydock::image::unpack {

inline constexpr const char* kArchiveSoname = "libarchive.so.13";

// Every function the unpacker calls, by its name without the "archive_" prefix.
#define MYDOCK_ARCHIVE_FUNCTIONS(X)                                                             \
    X(read_new) X(read_free) X(read_support_format_tar) X(read_support_format_empty)            \
    X(read_open) X(read_next_header) X(read_data_block) X(error_string) X(set_error)            \
    X(entry_pathname) X(entry_pathname_utf8) X(entry_hardlink) X(entry_hardlink_utf8)           \
    X(entry_symlink) X(entry_symlink_utf8) X(entry_filetype) X(entry_perm) X(entry_uid)         \
    X(entry_gid) X(entry_size) X(entry_rdev) X(entry_mtime) X(entry_mtime_nsec)                 \
    X(entry_atime_is_set) X(entry_atime) X(entry_atime_nsec) X(entry_xattr_reset)               \
    X(entry_xattr_next)

struct ArchiveApi {
#define MYDOCK_ARCHIVE_MEMBER(name) decltype(&::archive_##name) name = nullptr;
    MYDOCK_ARCHIVE_FUNCTIONS(MYDOCK_ARCHIVE_MEMBER)
#undef MYDOCK_ARCHIVE_MEMBER
};

// The process-wide table, loaded on the first call; thread-safe. Throws mydock::Error
// ("libarchive.so.13 is needed to unpack layers: <dlerror>") when the library or one of its
// functions cannot be found; every later call throws the same error.
const ArchiveApi& archiveApi();

// Loads `soname` and resolves the table without caching; for tests (a missing library must
// give a clear error). Throws like archiveApi().
ArchiveApi loadArchiveApi(const char* soname);

}  // namespace mydock::image::unpack
