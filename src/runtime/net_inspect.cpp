#include "runtime/net_inspect.h"

#include "runtime/net_bridge.h"
#include "runtime/net_ipam.h"
#include "runtime/net_ports.h"

namespace mydock::runtime::net {
namespace {

std::string portKey(const PortMapping& m) { return std::to_string(m.containerPort) + "/" + m.proto; }

std::string bridgeKey(const std::string& mode) {
    return mode.empty() || mode == "default" ? std::string("bridge") : mode;
}

nlohmann::json settings(const std::string& mode, const std::string& ip, const std::string& gateway, int prefix,
                        nlohmann::json ports) {
    nlohmann::json endpoint = {{"IPAddress", ip}, {"Gateway", gateway}, {"IPPrefixLen", prefix},
                               {"MacAddress", ""}, {"NetworkID", ""}, {"EndpointID", ""}};
    return {{"Bridge", ""},      {"Ports", std::move(ports)}, {"IPAddress", ip},
            {"Gateway", gateway}, {"IPPrefixLen", prefix},     {"MacAddress", ""},
            {"Networks", {{bridgeKey(mode), endpoint}}}};
}

}  // namespace

nlohmann::json portBindings(const std::vector<std::string>& publishFlags) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& f : publishFlags)
        for (const auto& m : parsePortSpec(f)) {
            std::string hostPort;
            if (m.hostPort) hostPort = std::to_string(m.hostPort);
            if (m.hostPortEnd) hostPort += "-" + std::to_string(m.hostPortEnd);
            out[portKey(m)].push_back({{"HostIp", m.hostIp}, {"HostPort", hostPort}});
        }
    return out;
}

nlohmann::json stoppedNetworkSettings(const std::string& networkMode) {
    return settings(networkMode, "", "", 0, nlohmann::json::object());
}

nlohmann::json networkSettings(const std::string& root, const std::string& containerId,
                               const std::string& networkMode) {
    if (bridgeKey(networkMode) != "bridge") return stoppedNetworkSettings(networkMode);
    BridgeNetwork net = BridgeNetwork::open(hostNetworkDir(), BridgeConfig::fromRoot(root));
    auto lease = net.lease(containerId);
    if (!lease) return stoppedNetworkSettings(networkMode);
    Subnet subnet = Subnet::parse(net.config().subnet);
    nlohmann::json ports = nlohmann::json::object();
    for (const auto& m : lease->ports)
        ports[portKey(m)].push_back(
            {{"HostIp", m.hostIp.empty() ? std::string("0.0.0.0") : m.hostIp}, {"HostPort", std::to_string(m.hostPort)}});
    return settings(networkMode, lease->ip, ipToString(subnet.gateway()), subnet.prefix, std::move(ports));
}

std::string portsColumn(const nlohmann::json& ns) {
    if (!ns.is_object() || !ns.contains("Ports") || !ns["Ports"].is_object()) return "";
    std::string out;
    auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
    for (const auto& [key, bindings] : ns["Ports"].items()) {
        if (!bindings.is_array() || bindings.empty()) {
            add(key);   // exposed, not published
            continue;
        }
        for (const auto& b : bindings) {
            if (!b.is_object()) continue;
            std::string ip = b.value("HostIp", ""), port = b.value("HostPort", "");
            add((ip.empty() ? std::string("0.0.0.0") : ip) + ":" + port + "->" + key);
        }
    }
    return out;
}

}  // namespace mydock::runtime::net
