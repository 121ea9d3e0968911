#!/usr/bin/env bash
# Installs the dependencies, builds mydock and runs every test (unit and end to end) with
# ctest. As root on Debian 12: the end-to-end tests mount, unshare and start registries on
# 127.0.0.1. Usage: scripts/test.sh [ctest options instead of the default, e.g. -R e2e_pull]
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MYDOCK_BUILD_DIR:-$src/build}

bash "$src/scripts/install-deps.sh"
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
ninja -C "$build"
cd "$build"
if (($#)); then
    ctest --output-on-failure "$@"
else
    # Unit tests in parallel; end-to-end files one at a time: some check host-wide state (the
    # mount table, the cgroup tree) that another file's containers and mounts would change.
    rc=0
    ctest --output-on-failure -j "$(nproc)" -L unit || rc=1
    ctest --output-on-failure -L e2e || rc=1
    exit $rc
fi
