#!/usr/bin/env bash
# The README's first command: on a fresh Debian 12 machine (as root), installs the packages,
# builds mydock, starts a local registry on 127.0.0.1 holding a small busybox image made from
# Debian's busybox-static, makes it the docker.io mirror in the state root's config.json
# (var/root, inside the source tree), then runs `mydock pull busybox` and
# `mydock run --rm busybox echo hello`. Works offline.
# Usage: scripts/demo.sh [--keep]   (--keep leaves the registry running for more pulls)
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
keep=${1:-}
[[ $(id -u) == 0 ]] || { echo "demo.sh: run as root (mydock needs namespaces and mounts)" >&2; exit 1; }

bash "$src/scripts/install-deps.sh"
cmake -S "$src" -B "$src/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$src/build" mydock          # and mydock-init, which it depends on

export MYDOCK_ROOT=$src/var/root MYDOCK_BIN=$src/build/src/cli/mydock
demo=$src/var/demo
mkdir -p "$MYDOCK_ROOT" "$demo"
# shellcheck source=../tests/lib/e2e.bash
source "$src/tests/lib/e2e.bash"
unset -f mydock                         # the tests' wrapper: here, the real binary on PATH
md_cleanup "$demo"                      # a registry left by an earlier `demo.sh --keep`
rm -rf "$demo"/registry.*
TMPDIR=$demo registry_start             # holds library/busybox:latest (tests/lib/README.md)
[[ $keep == --keep ]] || trap 'md_cleanup "$demo"' EXIT
printf '{\n  "registry-mirrors": ["http://%s"]\n}\n' "$REG_HOST" >"$MYDOCK_ROOT/config.json"
echo "local registry at $REG_URL, the docker.io mirror in $MYDOCK_ROOT/config.json"

PATH=$src/build/src/cli:$PATH
set -x
mydock pull busybox
mydock run --rm busybox echo hello
{ set +x; } 2>/dev/null
if [[ $keep == --keep ]]; then
    echo "registry left running (stop it with: kill \$(cat $REG_DIR/registry.pid))"
fi
echo "next: export MYDOCK_ROOT=$MYDOCK_ROOT PATH=$src/build/src/cli:\$PATH; mydock images"
