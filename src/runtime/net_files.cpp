#include "runtime/net_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <sstream>

#include "common/error.h"
#include "common/fs.h"
#include "common/unique_fd.h"

namespace mydock::runtime::net {

std::string hostsFileContent(const std::string& ip, const std::string& hostname) {
    std::string s =
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "ff00::0\tip6-mcastprefix\n"
        "ff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n";
    if (!ip.empty() && !hostname.empty()) s += ip + "\t" + hostname + "\n";
    return s;
}

namespace {

bool isLoopbackNameserver(const std::string& addr) {
    // 127.0.0.0/8, ::1 (and its long forms); a zone suffix (%lo) does not change that.
    std::string a = addr.substr(0, addr.find('%'));
    return a.rfind("127.", 0) == 0 || a == "::1" || a == "0:0:0:0:0:0:0:1";
}

}  // namespace

std::string filterResolvConf(const std::string& host) {
    std::istringstream in(host);
    std::string line, out;
    bool anyNameserver = false;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string key, value;
        words >> key >> value;
        if (key == "nameserver") {
            if (isLoopbackNameserver(value)) continue;
            anyNameserver = true;
        }
        out += line + "\n";
    }
    if (!anyNameserver) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
    return out;
}

std::string containerResolvConf() {
    std::string host;
    try {
        fs::readFileIfExists("/etc/resolv.conf", host);
        // systemd-resolved's stub only answers on the host's loopback; its upstream list is
        // what a container can use (docker does the same).
        if (host.find("nameserver 127.0.0.53") != std::string::npos) {
            std::string upstream;
            if (fs::readFileIfExists("/run/systemd/resolve/resolv.conf", upstream)) host = upstream;
        }
    } catch (const Error&) {
        host.clear();
    }
    return filterResolvConf(host);
}

void writeHostsFile(const std::string& dir, const std::string& ip, const std::string& hostname) {
    const std::string path = fs::join(dir, "hosts");
    const std::string text = hostsFileContent(ip, hostname);
    // In place, not by rename: the container may have bind-mounted this inode already (it
    // builds its root while the network is wired), and it reads it only after we are done.
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd) throwErrno("open " + path);
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) throwErrno("write " + path);
}

}  // namespace mydock::runtime::net
