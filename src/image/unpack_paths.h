// Pure name rules of the layer unpacker (no I/O, testable without root): how a tar entry
// name becomes safe path components, and which names are overlay whiteouts.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mydock::image::unpack {

// Longest entry name accepted; longer paths could not be used by docker either (PATH_MAX).
inline constexpr std::size_t kMaxEntryName = 4096;

// Splits a tar entry name into components relative to the layer root. Leading '/' and
// "." components and empty components ("a//b", trailing '/') are dropped, so "/abs", "./x"
// and "x/" stay inside the layer. A ".." component anywhere is refused (throws mydock::Error
// naming the entry), as are over-long names. An empty result means the layer root itself.
std::vector<std::string> splitEntryPath(std::string_view name);

// "a/b/c" for messages and for remembering directories.
std::string joinComponents(const std::vector<std::string>& parts);

enum class WhiteoutKind {
    None,       // an ordinary name
    Whiteout,   // ".wh.NAME": NAME is deleted in the layers below
    Opaque,     // ".wh..wh..opq": the containing directory hides the layers below
    Meta,       // another ".wh..wh.*" (aufs metadata such as .wh..wh.plnk): skipped
};

struct Whiteout {
    WhiteoutKind kind = WhiteoutKind::None;
    std::string target;   // for Whiteout: NAME (never empty, ".", ".." or containing '/')
};

// Classifies the last component of an entry name. Throws mydock::Error for a malformed
// whiteout name (".wh." alone, ".wh..", ".wh...", or one whose NAME is not a plain name).
Whiteout classifyWhiteout(std::string_view base);

}  // namespace mydock::image::unpack
