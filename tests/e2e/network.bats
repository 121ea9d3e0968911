#!/usr/bin/env bats
# Bridge networking end to end (issue 5, "Networking"): the default network, -p by DNAT on
# 127.0.0.1, container to container, addresses under concurrency, NAT rules, none/host, and that
# veths, rules and leases go with the last container while the bridge and its nft table (base
# chains, no container rule) stay until `system prune` (issue 6: as docker keeps docker0, so a
# lone run does not pay their creation and removal). Needs root, nft and iproute2.
# Traffic only to 127.0.0.1 and to this file's own containers; outbound NAT is checked by its
# rules, never by traffic out.
#
# Most tests use a bridge of their own (config.json's bridge-name/bridge-subnet: its own nft
# table mydock_<bridge>), so that other mydock users of this host, who share mydock0, cannot
# make the "everything is gone" checks flaky; one test uses the default mydock0.
load ../lib/e2e
bats_require_minimum_version 1.5.0

setup_file() {
    [[ $(id -u) == 0 ]] || return 0
    [[ -x ${MYDOCK_BIN:-} ]] || return 0
    registry_start
    export NET_ROOT=$BATS_FILE_TMPDIR/root
    export HOME=$BATS_FILE_TMPDIR/home
    mkdir -p "$NET_ROOT" "$HOME"
    export BR=mdnb$(( $$ % 100000 ))
    export NET3=10.231.$(( $$ % 250 ))
    export TABLE=mydock_$BR
    printf '{"bridge-name": "%s", "bridge-subnet": "%s.0/24"}\n' "$BR" "$NET3" >"$NET_ROOT/config.json"
    "$MYDOCK_BIN" --root "$NET_ROOT" pull -q "$REG_HOST/library/busybox" >/dev/null
    export BB=$REG_HOST/library/busybox
}

teardown_file() {
    if [[ -n ${BR:-} ]]; then
        # The private bridge outlives its containers: prune it (directly if prune failed).
        "$MYDOCK_BIN" --root "$NET_ROOT" system prune -f >/dev/null 2>&1
        ip link del "$BR" 2>/dev/null
        nft delete table ip "$TABLE" 2>/dev/null
        rm -f "/run/mydock/network/$BR.lock" "/run/mydock/network/$BR.nft"
    fi
    md_cleanup "$BATS_FILE_TMPDIR"
    return 0
}

setup() {
    md_require_root
    command -v nft >/dev/null || skip "needs nft"
    md_setup_root
    export MD_ROOT=$NET_ROOT
}

# Every container of the test is removed; then nothing of them is left on the bridge.
teardown() {
    local rc=0 ids
    ids=$("$MYDOCK_BIN" --root "$NET_ROOT" ps -aq --no-trunc)
    [[ -z $ids ]] || "$MYDOCK_BIN" --root "$NET_ROOT" rm -f $ids >/dev/null || rc=1
    if [[ -d $BATS_TEST_TMPDIR/defroot ]]; then
        ids=$("$MYDOCK_BIN" --root "$BATS_TEST_TMPDIR/defroot" ps -aq --no-trunc)
        [[ -z $ids ]] || "$MYDOCK_BIN" --root "$BATS_TEST_TMPDIR/defroot" rm -f $ids >/dev/null || rc=1
    fi
    md_teardown || rc=1
    assert_bridge_idle || rc=1
    if grep -F -- "$NET_ROOT" /proc/self/mountinfo; then echo "host mounts left" >&2; rc=1; fi
    if pgrep -f -- "--root $NET_ROOT" >/dev/null; then echo "mydock processes left" >&2; rc=1; fi
    return $rc
}

# No veth on this file's bridge, no lease, no rule of a container (the bridge and the table with
# its base chains and fixed rules may stay).
assert_bridge_idle() {
    local rc=0 i
    # The veth of a container that ended under `run` (not `rm`) goes with its network
    # namespace: the kernel removes it one RCU grace period (~10 ms) after the container's
    # last process, without mydock waiting for it. Give the kernel up to 2 s.
    for i in $(seq 20); do [[ -z $(ip -br link show master "$BR" 2>/dev/null) ]] && break; sleep 0.1; done
    if [[ -n $(ip -br link show master "$BR" 2>/dev/null) ]]; then echo "veths left on $BR" >&2; ip -br link show master "$BR" >&2; rc=1; fi
    if nft list table ip "$TABLE" 2>/dev/null | grep -E "masquerade|dnat" >&2; then echo "rules left in $TABLE" >&2; rc=1; fi
    if [[ -e /run/mydock/network/$BR.leases ]]; then echo "leases left" >&2; cat "/run/mydock/network/$BR.leases" >&2; rc=1; fi
    return $rc
}

# No bridge, no veth on it, no table, no lease file of this file's bridge (after system prune).
assert_bridge_gone() {
    local rc=0
    if ip link show "$BR" >/dev/null 2>&1; then echo "bridge $BR left" >&2; ip -br link show master "$BR" >&2; rc=1; fi
    if nft list table ip "$TABLE" >/dev/null 2>&1; then echo "table ip $TABLE left" >&2; rc=1; fi
    if [[ -e /run/mydock/network/$BR.leases ]]; then echo "leases left" >&2; cat "/run/mydock/network/$BR.leases" >&2; rc=1; fi
    return $rc
}

# A free host port in 18080-18099 (docker would refuse a taken one; we want the test to run).
free_test_port() {
    local p
    for p in $(seq 18080 18099); do
        ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return 0; }
    done
    return 1
}

# ip_of C: the container's address as inspect shows it.
ip_of() { "$MYDOCK_BIN" --root "$NET_ROOT" inspect "$1" | jq -r '.[0].NetworkSettings.IPAddress'; }

@test "bridge is the default: eth0 with an address of the subnet, default route, hosts and resolv.conf" {
    run mydock run --rm -h webhost "$BB" sh -c 'ip -4 -o addr show eth0; ip route; cat /etc/hosts; cat /etc/resolv.conf'
    assert_success
    assert_output_matches "inet $NET3\.[0-9]+/24"
    assert_output_contains "default via $NET3.1 dev eth0"
    assert_output_matches "$NET3\.[0-9]+"$'\t'"webhost"
    assert_output_contains "nameserver"
    assert_output_not_contains "nameserver 127."
}

@test "a published httpd answers on 127.0.0.1; ps shows the port; inspect shows the address" {
    local port www=$BATS_TEST_TMPDIR/www
    port=$(free_test_port)
    mkdir -p "$www"
    echo "hello from mydock $port" >"$www/index.html"
    run mydock run -d --name web -p "127.0.0.1:$port:80" -v "$www:/www:ro" "$BB" httpd -f -p 80 -h /www
    assert_success
    local body="" i
    for i in $(seq 50); do
        body=$(timeout 3 busybox wget -qO- "http://127.0.0.1:$port/" 2>/dev/null) && break
        sleep 0.1
    done
    [[ $body == "hello from mydock $port" ]] || { echo "got: '$body'" >&2; return 1; }

    run mydock ps
    assert_success
    assert_output_contains "127.0.0.1:$port->80/tcp"
    run mydock inspect web
    assert_success
    local ip
    ip=$(jq -r '.[0].NetworkSettings.IPAddress' <<<"$output")
    [[ $ip == "$NET3".* ]] || { echo "IPAddress: $ip" >&2; return 1; }
    [[ $(jq -r '.[0].NetworkSettings.Gateway' <<<"$output") == "$NET3.1" ]]
    [[ $(jq -r '.[0].NetworkSettings.Ports["80/tcp"][0].HostPort' <<<"$output") == "$port" ]]
    [[ $(jq -r '.[0].HostConfig.PortBindings["80/tcp"][0].HostIp' <<<"$output") == 127.0.0.1 ]]
    # The DNAT rule names the container; the address it answers on is the one inspect shows.
    run nft list table ip "$TABLE"
    assert_output_contains "dnat to $ip:80"

    # The same host port cannot be published twice.
    run -125 mydock run --rm -p "127.0.0.1:$port:80" "$BB" true
    assert_output_contains "port is already allocated"

    # Stopped: no address, no port in ps -a.
    run mydock stop -t 1 web
    assert_success
    [[ $(ip_of web) == "" ]]
    run mydock ps -a
    assert_output_not_contains "->80/tcp"
}

@test "two containers on the bridge ping each other by address" {
    run mydock run -d --name pa "$BB" sleep 60
    assert_success
    run mydock run -d --name pb "$BB" sleep 60
    assert_success
    local ipa ipb
    ipa=$(ip_of pa)
    ipb=$(ip_of pb)
    [[ $ipa == "$NET3".* && $ipb == "$NET3".* && $ipa != "$ipb" ]] || { echo "a=$ipa b=$ipb" >&2; return 1; }
    run mydock run --rm "$BB" ping -c 1 -W 2 "$ipa"
    assert_success
    run mydock run --rm "$BB" sh -c "ping -c 1 -W 2 $ipb && ping -c 1 -W 2 $NET3.1"
    assert_success
    # Both veths are on the bridge while they run (those of the two `run --rm` may still be
    # on their way out with their netns: the kernel removes them, see assert_bridge_idle).
    local leases=/run/mydock/network/$BR.leases v
    [[ $(jq '.leases | length' "$leases") -eq 2 ]]
    for v in $(jq -r '.leases[].veth' "$leases"); do ip link show "$v" | grep -q "master $BR"; done
}

@test "20 concurrent run -d get 20 distinct addresses; rm -f of all leaves nothing" {
    local i pids=()
    for i in $(seq 20); do
        "$MYDOCK_BIN" --root "$NET_ROOT" run -d --name "c$i" "$BB" sleep 60 >"$BATS_TEST_TMPDIR/c$i.out" 2>&1 &
        pids+=($!)
    done
    local rc=0
    for i in "${pids[@]}"; do wait "$i" || rc=1; done
    (( rc == 0 )) || { cat "$BATS_TEST_TMPDIR"/c*.out >&2; return 1; }
    local ips
    ips=$(for i in $(seq 20); do ip_of "c$i"; done | sort -u)
    [[ $(grep -c "^$NET3\." <<<"$ips") -eq 20 ]] || { echo "addresses: $ips" >&2; return 1; }
    [[ $(jq '.leases | length' "/run/mydock/network/$BR.leases") -eq 20 ]]
    [[ $(ip -br link show master "$BR" | wc -l) -eq 20 ]]
    run mydock rm -f $(for i in $(seq 20); do echo "c$i"; done)
    assert_success
    assert_bridge_idle
}

@test "outbound NAT: the table masquerades the subnet while containers run; bridge and table stay until system prune" {
    run mydock run -d --name nat "$BB" sleep 60
    assert_success
    run nft list table ip "$TABLE"
    assert_success
    assert_output_contains "ip saddr $NET3.0/24 oifname != \"$BR\" masquerade"
    [[ $(cat /proc/sys/net/ipv4/ip_forward) == 1 ]]
    [[ $(cat "/proc/sys/net/ipv4/conf/$BR/route_localnet") == 1 ]]
    # prune leaves a bridge in use alone.
    run mydock system prune -f
    assert_success
    assert_output_not_contains "Deleted Networks"
    ip link show "$BR" >/dev/null
    nft list table ip "$TABLE" | grep -q masquerade
    run mydock rm -f nat
    assert_success
    assert_bridge_idle
    # The bridge and the table stay, empty but for the route_localnet guard, for the next run.
    ip link show "$BR" >/dev/null
    run nft list table ip "$TABLE"
    assert_success
    assert_output_contains "chain postrouting"
    assert_output_contains "iifname \"$BR\" ip daddr 127.0.0.0/8 drop"
    run mydock run --rm "$BB" true
    assert_success
    assert_bridge_idle
    # system prune removes them, docker-like, and says so; a second prune has nothing to do.
    run mydock system prune -f
    assert_success
    assert_output_contains "Deleted Networks:"$'\n'"$BR"
    assert_bridge_gone
    run mydock system prune -f
    assert_success
    assert_output_not_contains "Deleted Networks"
    # The next run creates them again.
    run mydock run --rm "$BB" sh -c 'ip -4 -o addr show eth0'
    assert_success
    assert_output_contains "inet $NET3."
    nft list table ip "$TABLE" >/dev/null
}

@test "--network none has only lo; --network host sees the host's interfaces" {
    run mydock run --rm --network none "$BB" ls /sys/class/net
    assert_success
    [[ $output == lo ]]
    # Bridges and veths come and go with other users' containers: the rest must match.
    local host filter='^(veth|mydock|mdnb|mdt)'
    host=$(ls /sys/class/net | grep -Ev "$filter" | sort | tr '\n' ' ')
    run mydock run --rm --network host "$BB" ls /sys/class/net
    assert_success
    output=$(grep -Ev "$filter" <<<"$output" | sort | tr '\n' ' ')
    [[ $output == "$host" ]] || { echo "host: $host, container: $output" >&2; return 1; }
}

@test "-p with --network none fails 125; with --network host it is discarded with a warning" {
    run -125 mydock run --rm --network none -p 18080:80 "$BB" true
    assert_output_contains "conflicting options: port publishing and the container type network mode"
    run mydock run --rm --network host -p 18080:80 "$BB" true
    assert_success
    assert_output_contains "WARNING: Published ports are discarded when using host network mode"
    run -125 mydock run --rm -p 80:99999 "$BB" true
    # Nothing was created for the refused runs.
    [[ -z $("$MYDOCK_BIN" --root "$NET_ROOT" ps -aq) ]]
}

@test "a container whose monitor was SIGKILLed: its stale lease is collected by the next run or by rm -f" {
    run mydock run -d --name orphan "$BB" sleep 60
    assert_success
    local id=$output mon veth
    veth=$(jq -r --arg id "$id" '.leases[] | select(.id == $id) | .veth' "/run/mydock/network/$BR.leases")
    [[ $veth == veth* ]]
    mon=$(pgrep -f -- "--root $NET_ROOT run -d --name orphan") || { echo "no monitor" >&2; return 1; }
    kill -9 $mon
    # The container dies with its monitor; nobody detached it: its lease is left, stale.
    local i
    for i in $(seq 50); do pgrep -f -- "--root $NET_ROOT run -d --name orphan" >/dev/null || break; sleep 0.1; done
    [[ $(jq '.leases | length' "/run/mydock/network/$BR.leases") -eq 1 ]]
    # The next run collects it (and its own lease goes when it ends): nothing is left.
    run mydock run --rm "$BB" true
    assert_success
    assert_bridge_idle
    ! ip link show "$veth" 2>/dev/null
    # Another orphan, this time collected by rm -f.
    run mydock run -d --name orphan2 "$BB" sleep 60
    assert_success
    mon=$(pgrep -f -- "--root $NET_ROOT run -d --name orphan2") || { echo "no monitor" >&2; return 1; }
    kill -9 $mon
    run mydock rm -f orphan2 orphan
    assert_success
    assert_bridge_idle
}

@test "the default bridge mydock0 (10.88.0.0/16): attach, then its veth and lease go with rm -f" {
    local root=$BATS_TEST_TMPDIR/defroot
    mkdir -p "$root"
    cp -a "$NET_ROOT/." "$root/"   # the pulled image, without config.json's private bridge
    rm -f "$root/config.json"
    run "$MYDOCK_BIN" --root "$root" run -d --name dflt "$BB" sleep 60
    assert_success
    local id=$output veth
    veth=$(jq -r --arg id "$id" '.leases[] | select(.id == $id) | .veth' /run/mydock/network/mydock0.leases)
    [[ $veth == veth* ]] || { echo "no lease for $id" >&2; cat /run/mydock/network/mydock0.leases >&2; return 1; }
    run "$MYDOCK_BIN" --root "$root" inspect dflt
    [[ $(jq -r '.[0].NetworkSettings.IPAddress' <<<"$output") == 10.88.* ]]
    ip link show "$veth" | grep -q "master mydock0"
    nft list table ip mydock | grep -q "ip saddr 10.88.0.0/16 oifname != \"mydock0\" masquerade"
    run "$MYDOCK_BIN" --root "$root" rm -f dflt
    assert_success
    [[ -z $("$MYDOCK_BIN" --root "$root" ps -aq) ]]
    ! ip link show "$veth" 2>/dev/null
    ! grep -q "$id" /run/mydock/network/mydock0.leases 2>/dev/null
    # Other mydock users of this host may have containers on mydock0: only without their
    # leases must the rules be gone (the bridge and the table stay, as docker0 does).
    if [[ ! -e /run/mydock/network/mydock0.leases ]]; then
        ip link show mydock0 >/dev/null
        ! nft list table ip mydock | grep -E "masquerade|dnat"
    fi
}

@test "a container cannot reach the host's loopback through route_localnet (CVE-2020-8558)" {
    command -v python3 >/dev/null || skip "needs python3"
    run mydock run -d --name raw "$BB" sleep 60
    assert_success
    local pid cip port
    pid=$("$MYDOCK_BIN" --root "$NET_ROOT" inspect raw | jq .[0].State.Pid)
    cip=$(ip_of raw)
    port=$(free_test_port)
    # A UDP datagram to 127.0.0.1:port in a raw frame to the bridge's MAC, sent from the
    # container's netns (what a container with NET_RAW, a default capability, can do).
    cat >"$BATS_TEST_TMPDIR/send.py" <<'PY'
import socket, struct, sys
ifname, dst_mac, src_ip, dport = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
src_mac = open(f"/sys/class/net/{ifname}/address").read().strip()
mac = lambda m: bytes(int(x, 16) for x in m.split(":"))
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
payload = b"from-the-container"
udp = struct.pack("!HHHH", 40000, dport, 8 + len(payload), 0) + payload
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 socket.inet_aton(src_ip), socket.inet_aton("127.0.0.1"))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
s.send(mac(dst_mac) + mac(src_mac) + b"\x08\x00" + ip + udp)
PY
    cat >"$BATS_TEST_TMPDIR/recv.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(1.5)
try:
    print("received", s.recvfrom(100)[0].decode())
except socket.timeout:
    print("nothing")
PY
    attempt() {
        python3 "$BATS_TEST_TMPDIR/recv.py" "$port" >"$BATS_TEST_TMPDIR/recv.out" &
        local r=$!
        sleep 0.3
        nsenter --net=/proc/$pid/ns/net python3 "$BATS_TEST_TMPDIR/send.py" eth0 "$(cat /sys/class/net/$BR/address)" "$cip" "$port"
        wait $r
        cat "$BATS_TEST_TMPDIR/recv.out"
    }
    run attempt
    assert_success
    [[ $output == nothing ]] || { echo "$output" >&2; return 1; }
    # The probe can see the hole: without mydock's drop rule the datagram arrives.
    local h
    h=$(nft -a list chain ip "$TABLE" input | sed -n 's/.* drop # handle \([0-9]*\)$/\1/p')
    [[ -n $h ]]
    nft delete rule ip "$TABLE" input handle "$h"
    run attempt
    [[ $output == "received from-the-container" ]] || { echo "$output" >&2; return 1; }
    # The guard is part of the table that outlives containers: put it back (a missing table is
    # recreated whole by the next change).
    nft delete table ip "$TABLE"
    run mydock rm -f raw
    assert_success
    nft list table ip "$TABLE" | grep -q "ip daddr 127.0.0.0/8 drop"
}
