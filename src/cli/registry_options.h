// Registry client settings for the verbs that talk to registries (pull, run, login): the
// engine config's mirrors and insecure registries, certs.d, and docker's credentials file.
#pragma once

#include <memory>

#include "cli/context.h"
#include "registry/client.h"

namespace mydock::cli {

struct RegistryAccess {
    registry::CredentialStore credentials;   // ~/.docker/config.json (or $DOCKER_CONFIG)
    registry::ClientOptions options;         // options.credentials points at `credentials`
};

// Keep the result alive as long as any Client made from its options.
// $MYDOCK_CERTS_DIR replaces /etc/mydock/certs.d (for tests that must not touch /etc).
std::unique_ptr<RegistryAccess> makeRegistryAccess(const Context& ctx);

}  // namespace mydock::cli
