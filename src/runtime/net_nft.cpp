#include "runtime/net_nft.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>

#include "common/error.h"
#include "common/unique_fd.h"

extern char** environ;

namespace mydock::runtime::net {
namespace {

// Container ids are hex, but a name-like id must never break out of the comment's quotes.
std::string commentText(const std::string& id) {
    std::string out;
    for (char c : id.substr(0, 64))
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.') out += c;
    return out;
}

}  // namespace

std::string renderRuleset(const std::string& table, const std::string& bridge, const Subnet& subnet,
                          const std::vector<Lease>& leases) {
    std::string s = "table ip " + table + " {}\ndelete table ip " + table + "\n";
    if (leases.empty()) return s;
    const std::string br = "\"" + bridge + "\"";
    const std::string net = subnet.str();
    s += "table ip " + table + " {\n";
    // Published ports: DNAT for packets to a local address, from outside (prerouting) and
    // from the host itself (output). "fib daddr type local" = any address of this host.
    s += "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
         "    fib daddr type local jump publish\n  }\n";
    s += "  chain output {\n    type nat hook output priority -100; policy accept;\n"
         "    fib daddr type local jump publish\n  }\n";
    s += "  chain publish {\n";
    for (const auto& l : leases)
        for (const auto& m : l.ports) {
            s += "    ";
            if (!m.hostIp.empty()) s += "ip daddr " + m.hostIp + " ";
            s += m.proto + " dport " + std::to_string(m.hostPort) + " dnat to " + l.ip + ":" +
                 std::to_string(m.containerPort) + " comment \"" + commentText(l.containerId) + "\"\n";
        }
    s += "  }\n";
    s += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n";
    // Outbound NAT: containers leave with the host's address.
    s += "    ip saddr " + net + " oifname != " + br + " masquerade\n";
    // A published port reached on 127.0.0.1: the packet goes out on the bridge with a loopback
    // source (allowed by route_localnet on the bridge); rewrite it so the container can answer.
    s += "    ip saddr 127.0.0.0/8 oifname " + br + " masquerade\n";
    // Hairpin: a container reaching a published port of the bridge (itself or a neighbour)
    // through a host address must see the reply come back the same way.
    s += "    ip saddr " + net + " oifname " + br + " ct status dnat masquerade\n";
    s += "  }\n}\n";
    return s;
}

namespace {

std::string findNft() {
    for (const char* p : {"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"})
        if (::access(p, X_OK) == 0) return p;
    throw Error("nft not found: bridge networking needs nftables (apt-get install nftables)");
}

}  // namespace

void applyNft(const std::string& script) {
    std::string nft = findNft();
    int in[2], err[2];
    // Pipes for nft's stdin (the script) and stderr (its diagnostics); close-on-exec so that
    // no other child of this process inherits them.
    if (::pipe2(in, O_CLOEXEC) != 0) throwErrno("pipe");
    UniqueFd inR(in[0]), inW(in[1]);
    if (::pipe2(err, O_CLOEXEC) != 0) throwErrno("pipe");
    UniqueFd errR(err[0]), errW(err[1]);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, inR.get(), 0);
    posix_spawn_file_actions_adddup2(&fa, errW.get(), 2);
    posix_spawn_file_actions_adddup2(&fa, errW.get(), 1);
    const char* argv[] = {nft.c_str(), "-f", "-", nullptr};
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, nft.c_str(), &fa, nullptr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throwErrno("spawn " + nft, rc);
    inR.reset();
    errW.reset();

    // The script is written whole before reading: nft reads all of stdin before it answers.
    // SIGPIPE is blocked for this thread meanwhile (an nft that died early must not kill
    // mydock) and a pending one is consumed afterwards.
    sigset_t pipeSet, oldSet;
    sigemptyset(&pipeSet);
    sigaddset(&pipeSet, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipeSet, &oldSet);
    std::size_t off = 0;
    while (off < script.size()) {
        ssize_t n = ::write(inW.get(), script.data() + off, script.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;  // nft died early; its status and stderr tell why
        }
        off += static_cast<std::size_t>(n);
    }
    inW.reset();
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) && !sigismember(&oldSet, SIGPIPE)) {
        timespec zero{};
        sigtimedwait(&pipeSet, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &oldSet, nullptr);
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(errR.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) throwErrno("wait for nft");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        while (!out.empty() && out.back() == '\n') out.pop_back();
        throw Error("nft failed: " + (out.empty() ? std::string("exit status ") + std::to_string(status) : out));
    }
}

}  // namespace mydock::runtime::net
