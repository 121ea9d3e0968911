// /etc/hosts and /etc/resolv.conf for a container on the bridge: text only; the runtime writes
// the files (and bind-mounts them) where it keeps the container's other per-container files.
#pragma once

#include <string>

namespace mydock::runtime::net {

// docker's /etc/hosts: localhost lines, the IPv6 names, then "ADDR\tHOSTNAME".
std::string hostsFileContent(const std::string& ip, const std::string& hostname);

// docker's rule: the host's resolv.conf with loopback nameservers dropped (they mean nothing
// in another netns); when none is left, Google's public servers are put in their place.
std::string filterResolvConf(const std::string& hostResolvConf);
// Reads the host's file (/etc/resolv.conf; systemd-resolved's upstream file when the host's
// only nameserver is its 127.0.0.53 stub) and filters it.
std::string containerResolvConf();

// Rewrites `dir`/hosts in place (the same inode: the container may have bind-mounted it
// already) for a bridge container with address `ip`. resolv.conf needs no address: it is
// written with the container's other files before it starts.
void writeHostsFile(const std::string& dir, const std::string& ip, const std::string& hostname);

}  // namespace mydock::runtime::net
