#include "runtime/net_files.h"

#include <sstream>

#include "common/error.h"
#include "common/fs.h"

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

void writeNetworkFiles(const std::string& dir, const std::string& ip, const std::string& hostname) {
    fs::writeFileAtomic(fs::join(dir, "hosts"), hostsFileContent(ip, hostname), false);
    fs::writeFileAtomic(fs::join(dir, "resolv.conf"), containerResolvConf(), false);
}

}  // namespace mydock::runtime::net
