#include "cli/registry_options.h"

#include <cstdlib>

namespace mydock::cli {

std::unique_ptr<RegistryAccess> makeRegistryAccess(const Context& ctx) {
    auto a = std::make_unique<RegistryAccess>();
    a->options.registryMirrors = ctx.config.registryMirrors;
    a->options.insecureRegistries = ctx.config.insecureRegistries;
    if (const char* d = std::getenv("MYDOCK_CERTS_DIR"); d && *d) a->options.certsDir = d;
    a->options.credentials = &a->credentials;
    return a;
}

}  // namespace mydock::cli
