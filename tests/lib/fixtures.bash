# The fixture images, built once per content of tests/lib/fixtures.py (and of busybox) into
# a cache under tests/e2e/.work/, and pushed once into a registry storage that registry_start
# copies. See tests/lib/README.md for the image names.

# fixtures_ensure: builds the cache if needed (under a lock: bats files may run in parallel).
# Exports FIXTURES_DIR (layout/, fixtures.json, expected/) and FIXTURES_STORAGE.
fixtures_ensure() {
    [[ -n ${FIXTURES_DIR:-} && -d ${FIXTURES_DIR:-}/storage ]] && return 0
    local key dir
    key=$(cat "$MD_LIB/fixtures.py" "$MD_LIB/push.py" "${FIXTURE_BUSYBOX:-/bin/busybox}" | sha256sum | cut -c1-16)
    dir=$MD_WORK/fixtures-$key
    mkdir -p "$MD_WORK"
    (
        flock 9
        [[ -d $dir/storage ]] && exit 0
        _fixtures_build "$dir"
    ) 9>"$MD_WORK/fixtures.lock" || return 1
    export FIXTURES_DIR=$dir FIXTURES_STORAGE=$dir/storage
}

_fixtures_build() {
    local dir=$1 tmp
    tmp=$(mktemp -d "$MD_WORK/build.XXXXXX")
    (
        trap 'md_cleanup "$tmp"' EXIT
        python3 "$MD_LIB/fixtures.py" "$tmp" || exit 1
        # Push through a real registry so the storage is exactly what distribution writes.
        BATS_TEST_TMPDIR=$tmp registry_start --empty --storage "$tmp/storage" || exit 1
        python3 "$MD_LIB/push.py" "$tmp/layout" "$REG_URL" || exit 1
    ) || { rm -rf "$tmp"; return 1; }
    rm -rf "$tmp"/registry.* && mv "$tmp" "$dir"
}

# fx NAME [JQ]: a fact about fixture NAME ("library/busybox:latest"), from fixtures.json;
# JQ defaults to .digest (the pushed top manifest's or index's digest). Others: .config,
# .layers[i] (DiffIDs), .mediaType, .platforms.arm64.manifest, .platforms.amd64.config.
fx() {
    fixtures_ensure >/dev/null || return 1
    jq -er --arg n "$1" ".[\$n]${2:-.digest}" "$FIXTURES_DIR/fixtures.json"
}

# fixtures_push URL [NAME...]: pushes fixture images to another registry (e.g. one started
# --empty, or with --tls/--token: pass --cacert/--user via PUSH_ARGS).
fixtures_push() {
    fixtures_ensure || return 1
    local url=$1
    shift
    python3 "$MD_LIB/push.py" ${PUSH_ARGS:-} "$FIXTURES_DIR/layout" "$url" "$@"
}
