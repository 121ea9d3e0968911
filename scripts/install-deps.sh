#!/usr/bin/env bash
# Installs what mydock needs to build and to run its tests on Debian 12 (as root).
# Skips apt entirely when everything is already installed.
set -euo pipefail

build_deps=(g++ cmake ninja-build pkg-config libcurl4-openssl-dev libarchive-dev libssl-dev
    nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev zlib1g-dev libzstd-dev libseccomp-dev)
# docker-registry: the registry the tests and the demo start; busybox-static: the demo and
# fixture image's content; skopeo/umoci: manual checks; bats/jq/curl/python3/openssl/zstd:
# the end-to-end tests and their fixtures; iproute2/util-linux/procps: netns, mounts, pgrep;
# nftables: the bridge network's NAT and published ports.
test_deps=(docker-registry busybox-static umoci skopeo bats jq curl openssl python3 zstd iproute2
    util-linux procps tar ca-certificates nftables)
extra_deps=("$@")

missing=()
for p in "${build_deps[@]}" "${test_deps[@]}" "${extra_deps[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
