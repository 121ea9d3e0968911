#include "image/archive_api.h"

#include "common/shared_library.h"

namespace mydock::image::unpack {

ArchiveApi loadArchiveApi(const char* soname) {
    SharedLibrary lib(soname, "to unpack layers");
    ArchiveApi a{};
#define MYDOCK_ARCHIVE_RESOLVE(name) lib.resolve("archive_" #name, a.name);
    MYDOCK_ARCHIVE_FUNCTIONS(MYDOCK_ARCHIVE_RESOLVE)
#undef MYDOCK_ARCHIVE_RESOLVE
    // Never unloaded: archives may be open in other threads, and unloading buys nothing.
    lib.keep();
    return a;
}

const ArchiveApi& archiveApi() {
    static LoadOnce<ArchiveApi> table;
    return table.get([] { return loadArchiveApi(kArchiveSoname); });
}

}  // namespace mydock::image::unpack
