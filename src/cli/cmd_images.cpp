// STUB: replaced by the module owner.
#include "cli/context.h"
namespace mydock::cli {
void registerImages(CLI::App&, Context&) {}
}  // namespace mydock::cli
