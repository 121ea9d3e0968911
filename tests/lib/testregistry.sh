#!/usr/bin/env bash
# For manual work: starts a test registry holding every fixture image (tests/lib/README.md),
# prints how to reach it, and stops it on Ctrl-C or when the shell is closed.
# Usage: tests/lib/testregistry.sh [--tls] [--token [--anonymous-pull]] [--empty]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/e2e.bash"
export TMPDIR
TMPDIR=$(mktemp -d /tmp/mydock-testregistry.XXXXXX)
trap 'md_cleanup "$TMPDIR"; rm -rf "$TMPDIR"' EXIT
registry_start "$@"
echo "REG_HOST=$REG_HOST REG_URL=$REG_URL${REG_CA:+ REG_CA=$REG_CA}${REG_USER:+ REG_USER=$REG_USER REG_PASS=$REG_PASS}"
echo "e.g.: mydock --root /tmp/r pull $REG_HOST/library/busybox   (Ctrl-C stops the registry)"
while sleep 3600; do :; done
