// mydock login / logout: docker's verbs, credentials kept in docker's config.json format.
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli/context.h"
#include "cli/registry_options.h"
#include "common/error.h"
#include "registry/client.h"

namespace mydock::cli {

namespace {

// "https://index.docker.io/v1/", "http://host:5000/", "docker.io" -> the registry domain.
std::string serverDomain(std::string s) {
    if (s.empty()) return registry::kDockerHubDomain;
    if (auto p = s.find("://"); p != std::string::npos) s = s.substr(p + 3);
    if (auto p = s.find('/'); p != std::string::npos) s = s.substr(0, p);
    if (s == "index.docker.io" || s == "registry-1.docker.io") s = registry::kDockerHubDomain;
    if (s.empty()) throw Error("invalid registry server address");
    return s;
}

std::string chompLine(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

// Turns terminal echo off while a password is typed, and back on whatever happens.
class NoEcho {
public:
    NoEcho() {
        // tcgetattr/tcsetattr: only the ECHO bit changes; the rest of the settings stay.
        if (::tcgetattr(STDIN_FILENO, &saved_) == 0) {
            termios t = saved_;
            t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
            active_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
        }
    }
    ~NoEcho() {
        if (active_) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
    }
    NoEcho(const NoEcho&) = delete;
    NoEcho& operator=(const NoEcho&) = delete;

private:
    termios saved_{};
    bool active_ = false;
};

std::string prompt(const std::string& text, bool secret) {
    std::fprintf(stderr, "%s", text.c_str());
    std::fflush(stderr);
    std::string line;
    {
        std::unique_ptr<NoEcho> guard;
        if (secret) guard = std::make_unique<NoEcho>();
        if (!std::getline(std::cin, line)) throw Error("login aborted: no input");
    }
    if (secret) std::fprintf(stderr, "\n");
    return chompLine(line);
}

struct LoginOptions {
    std::string username, password, server;
    bool passwordStdin = false;
};

void login(Context& ctx, const LoginOptions& o) {
    const std::string domain = serverDomain(o.server);
    auto access = makeRegistryAccess(ctx);
    registry::Credentials creds;
    creds.username = o.username;
    creds.password = o.password;

    if (!o.password.empty()) {
        if (o.passwordStdin) throw Error("--password and --password-stdin are mutually exclusive");
        std::fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
    }
    if (o.passwordStdin) {
        if (o.username.empty()) throw Error("Must provide --username with --password-stdin");
        std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
        creds.password = chompLine(all);
    }

    bool interactive = ::isatty(STDIN_FILENO);
    if (creds.username.empty() && creds.password.empty() && !o.passwordStdin) {
        // docker re-uses stored credentials when none are given.
        if (auto stored = access->credentials.get(domain)) {
            registry::Client client(access->options);
            try {
                client.checkLogin(domain, *stored);
                std::printf("Authenticating with existing credentials...\nLogin Succeeded\n");
                return;
            } catch (const Error&) {
                if (!interactive) throw;
            }
        }
    }
    if (creds.username.empty()) {
        if (!interactive) throw Error("Cannot perform an interactive login from a non TTY device");
        creds.username = prompt("Username: ", false);
        if (creds.username.empty()) throw Error("Username is required");
    }
    if (creds.password.empty()) {
        if (!interactive) throw Error("Cannot perform an interactive login from a non TTY device");
        creds.password = prompt("Password: ", true);
        if (creds.password.empty()) throw Error("Password is required");
    }

    registry::Client client(access->options);
    client.checkLogin(domain, creds);
    access->credentials.set(domain, creds);
    std::fprintf(stderr, "WARNING! Your password will be stored unencrypted in %s.\n",
                 registry::CredentialStore::defaultPath().c_str());
    std::printf("Login Succeeded\n");
}

void logout(const std::string& server) {
    const std::string domain = serverDomain(server);
    const std::string key = registry::CredentialStore::keyFor(domain);
    registry::CredentialStore store;
    // docker names Docker Hub by its auth key, and other registries by host[:port].
    if (!store.get(domain)) {
        std::printf("Not logged in to %s\n", key.c_str());
        return;
    }
    std::printf("Removing login credentials for %s\n", key.c_str());
    store.erase(domain);
}

}  // namespace

void registerLogin(CLI::App& app, Context& ctx) {
    auto o = std::make_shared<LoginOptions>();
    auto* in = app.add_subcommand("login", "Log in to a registry (default: Docker Hub)");
    in->add_option("-u,--username", o->username, "Username");
    in->add_option("-p,--password", o->password, "Password");
    in->add_flag("--password-stdin", o->passwordStdin, "Take the password from stdin");
    in->add_option("SERVER", o->server, "Registry server (default docker.io)");
    in->callback([o, &ctx] { login(ctx, *o); });

    auto server = std::make_shared<std::string>();
    auto* out = app.add_subcommand("logout", "Log out from a registry (default: Docker Hub)");
    out->add_option("SERVER", *server, "Registry server (default docker.io)");
    out->callback([server] { logout(*server); });
}

}  // namespace mydock::cli
