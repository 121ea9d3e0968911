// STUB: replaced by the module owner.
#include "cli/context.h"
namespace mydock::cli {
void registerRmi(CLI::App&, Context&) {}
}  // namespace mydock::cli
