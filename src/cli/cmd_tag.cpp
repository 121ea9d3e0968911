// STUB: replaced by the module owner.
#include "cli/context.h"
namespace mydock::cli {
void registerTag(CLI::App&, Context&) {}
}  // namespace mydock::cli
