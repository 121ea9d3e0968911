#!/usr/bin/env bats
# mydock pull against Debian's docker-registry on 127.0.0.1 (tests/lib): formats, platforms,
# digests, layer contents, whiteouts, errors, TLS, token auth, redirects, mirrors, concurrency.

load ../lib/e2e

setup_file() {
    registry_start
    export R=$REG_HOST                       # the shared plain registry of this file
}
teardown_file() { md_cleanup "$BATS_FILE_TMPDIR"; }
setup() { md_require_root; md_setup_root; }
teardown() { md_teardown; }

bb_sha=$(sha256sum "${FIXTURE_BUSYBOX:-/bin/busybox}" | cut -d' ' -f1)

# check_busybox_layer DIR: the busybox layer's files as the fixture made them.
check_busybox_layer() {
    local dir=$1
    [[ $(sha256sum "$dir/bin/busybox" | cut -d' ' -f1) == "$bb_sha" ]] || { echo "bin/busybox differs in $dir" >&2; return 1; }
    [[ $(readlink "$dir/bin/sh") == /bin/busybox ]] || { echo "bin/sh is not a symlink to /bin/busybox" >&2; return 1; }
    [[ $(stat -c '%a %u:%g' "$dir/tmp") == "1777 0:0" ]] || { echo "tmp: $(stat -c '%a %u:%g' "$dir/tmp")" >&2; return 1; }
    [[ $(stat -c '%a %u:%g' "$dir/home/app") == "755 1000:1000" ]] || { echo "home/app: $(stat -c '%a %u:%g' "$dir/home/app")" >&2; return 1; }
    grep -q '^app:x:1000:1000:' "$dir/etc/passwd"
}

@test "pull: single-arch OCI image, docker's output, then up to date" {
    run mydock pull "$R/library/busybox"
    assert_success
    local blob12
    blob12=$(fx library/busybox:latest '.blobs[0]' | cut -c8-19)
    assert_output_contains "latest: Pulling from library/busybox"
    assert_output_contains "$blob12: Pull complete"
    assert_output_contains "Digest: $(fx library/busybox:latest)"
    assert_output_contains "Status: Downloaded newer image for $R/library/busybox:latest"
    [[ ${lines[-1]} == "$R/library/busybox:latest" ]]
    run mydock pull "$R/library/busybox:latest"
    assert_success
    assert_output_contains "Status: Image is up to date for $R/library/busybox:latest"
    run mydock inspect "$R/library/busybox"
    assert_success
    [[ $(jq -r '.[0].Id' <<<"$output") == "$(fx library/busybox:latest .config)" ]]
    [[ $(jq -r '.[0].RootFS.Layers[0]' <<<"$output") == "$(fx library/busybox:latest '.layers[0]')" ]]
    [[ $(jq -r '.[0].Config.Cmd[0]' <<<"$output") == sh ]]
    check_busybox_layer "$(md_layer_dirs "$R/library/busybox")"
}

@test "pull -q prints only the full reference" {
    run mydock pull -q "$R/library/busybox"
    assert_success
    [[ $output == "$R/library/busybox:latest" ]]
}

@test "pull on a terminal draws progress with cursor movement" {
    command -v script >/dev/null || skip "no script(1)"
    run script -qec "$MYDOCK_BIN --root $MD_ROOT pull $R/test/shared-a" /dev/null
    assert_success
    assert_output_contains "Pull complete"
    assert_output_contains $'\e['          # ANSI cursor movement: live lines, not a log
    assert_output_contains "Status: Downloaded newer image for $R/test/shared-a:latest"
}

@test "pull -a: every tag of the repository" {
    run mydock pull -a "$R/library/busybox"
    if [[ $status -eq 125 && $output == *"not supported"* ]]; then skip "pull -a: $output"; fi
    assert_success
    local tag
    for tag in latest oci zstd uncompressed schema2 multi multi-schema2; do
        mydock inspect "$R/library/busybox:$tag" >/dev/null || { echo "no $tag" >&2; false; }
    done
}

@test "pull: schema2 manifest, zstd and uncompressed layers give the same files" {
    local tag
    for tag in schema2 zstd uncompressed; do
        run mydock pull "$R/library/busybox:$tag"
        assert_success
        assert_output_contains "Digest: $(fx "library/busybox:$tag")"
        run mydock inspect "$R/library/busybox:$tag"
        [[ $(jq -r '.[0].Id' <<<"$output") == "$(fx "library/busybox:$tag" .config)" ]]
        check_busybox_layer "$(md_layer_dirs "$R/library/busybox:$tag")"
    done
}

@test "pull: multi-arch OCI index and manifest list choose the host's platform" {
    local tag
    for tag in multi multi-schema2; do
        run mydock pull "$R/library/busybox:$tag"
        assert_success
        assert_output_contains "Digest: $(fx "library/busybox:$tag")"
        run mydock inspect "$R/library/busybox:$tag"
        [[ $(jq -r '.[0].Architecture' <<<"$output") == amd64 ]]
        [[ $(jq -r '.[0].Id' <<<"$output") == "$(fx "library/busybox:$tag" .platforms.amd64.config)" ]]
        [[ $(cat "$(md_layer_dirs "$R/library/busybox:$tag" | tail -n 1)/arch") == amd64 ]]
    done
}

@test "pull --platform linux/arm64/v8 from an OCI index and a manifest list" {
    local tag
    for tag in multi multi-schema2; do
        run mydock pull --platform linux/arm64/v8 "$R/library/busybox:$tag"
        assert_success
        run mydock inspect "$R/library/busybox:$tag"
        [[ $(jq -r '.[0].Architecture' <<<"$output") == arm64 ]]
        [[ $(jq -r '.[0].Variant' <<<"$output") == v8 ]]
        [[ $(jq -r '.[0].Id' <<<"$output") == "$(fx "library/busybox:$tag" .platforms.arm64.config)" ]]
        [[ $(cat "$(md_layer_dirs "$R/library/busybox:$tag" | tail -n 1)/arch") == arm64 ]]
    done
    run mydock pull --platform linux/s390x "$R/library/busybox:multi"
    assert_status 125
    assert_output_contains s390x
}

@test "pull by digest: pinned, listed with its digest" {
    local dg
    dg=$(fx test/app:latest)
    run mydock pull "$R/test/app@$dg"
    assert_success
    assert_output_contains "Digest: $dg"
    [[ ${lines[-1]} == "$R/test/app@$dg" ]]
    run mydock images --digests
    assert_output_contains "$dg"
    run mydock inspect "$R/test/app@$dg"
    assert_success
    [[ $(jq -r '.[0].RepoDigests[0]' <<<"$output") == "$R/test/app@$dg" ]]
    [[ $(jq -r '.[0].Config.User' <<<"$output") == app ]]
    [[ $(jq -r '.[0].Config.WorkingDir' <<<"$output") == /work/dir ]]
    # a digest the registry does not have
    run mydock pull "$R/test/app@sha256:$(printf '%064d' 1)"
    assert_status 125
}

@test "pull: 3 layers with whiteouts and an opaque dir unpack to the expected trees" {
    run mydock pull "$R/test/whiteout"
    assert_success
    local dirs i=1 d
    dirs=$(md_layer_dirs "$R/test/whiteout")
    [[ $(wc -l <<<"$dirs") == 3 ]]
    for d in $dirs; do
        run python3 "$MD_LIB/treecmp.py" "$FIXTURES_DIR/expected/whiteout/layer$i.json" "$d"
        echo "layer $i ($d)"
        assert_success
        i=$((i + 1))
    done
    md_mount_image "$R/test/whiteout" "$BATS_TEST_TMPDIR/merged"
    run python3 "$MD_LIB/treecmp.py" "$FIXTURES_DIR/expected/whiteout/merged.json" "$BATS_TEST_TMPDIR/merged"
    umount "$BATS_TEST_TMPDIR/merged"
    assert_success
}

@test "pull: 100 layers" {
    run mydock pull -q "$R/test/many"
    assert_success
    local dirs
    dirs=$(md_layer_dirs "$R/test/many")
    [[ $(wc -l <<<"$dirs") == 100 ]]
    [[ $(cat "$(tail -n 1 <<<"$dirs")/layers/099") == 99 ]]
}

@test "pull: a layer shared with a present image says Already exists" {
    run mydock pull -q "$R/test/shared-a"
    assert_success
    run mydock pull "$R/test/shared-b"
    assert_success
    assert_output_contains "$(fx test/shared-b:latest '.blobs[0]' | cut -c8-19): Already exists"
    assert_output_contains "$(fx test/shared-b:latest '.blobs[1]' | cut -c8-19): Pull complete"
}

@test "pull: unknown tag, unknown repository: clear errors, exit 125" {
    run mydock pull "$R/library/busybox:nosuchtag"
    assert_status 125
    assert_output_matches "nosuchtag.*(not found|unknown)|(not found|unknown).*nosuchtag"
    run mydock pull "$R/no/such-repo"
    assert_status 125
    assert_output_contains "no/such-repo"
    [[ -z $(mydock images -q) ]]
}

@test "pull: invalid references are refused with a message naming them" {
    local ref
    for ref in "Busybox" "$R/UPPER/case" "busybox:tag with space" "busybox@sha256:123" "a//b" ":tag"; do
        run mydock pull "$ref"
        assert_status 125
        assert_output_contains "invalid reference format"
    done
}

@test "pull: TLS registry with the test CA from certs.d" {
    registry_start --tls
    run mydock pull "$REG_HOST/library/busybox"
    assert_success
    assert_output_contains "Status: Downloaded newer image for $REG_HOST/library/busybox:latest"
    grep -q 'GET /v2/library/busybox/blobs/' "$REG_DIR/registry.log"
}

@test "pull: TLS registry by host name: trusted through certs.d, refused without it" {
    registry_start --tls
    # $REG_TLS_HOST is a name (not a loopback literal): a secure registry, verified.
    run md_with_hosts "$MYDOCK_BIN" --root "$MD_ROOT" pull "$REG_TLS_HOST/library/busybox"
    assert_success
    assert_output_contains "Status: Downloaded newer image for $REG_TLS_HOST/library/busybox:latest"
    rm -rf "/etc/mydock/certs.d/$REG_TLS_HOST"
    run md_with_hosts "$MYDOCK_BIN" --root "$MD_ROOT" pull "$REG_TLS_HOST/test/app"
    assert_status 125
    assert_output_matches "[Cc]ertificate|SSL|TLS|x509"
    run mydock images -q
    [[ $output == "$(fx library/busybox:latest .config | cut -c8-19)" ]]
}

@test "login, pull with token auth, logout (credentials in ~/.docker/config.json)" {
    registry_start --token
    run mydock pull "$REG_HOST/test/app"
    assert_status 125
    assert_output_contains "login"
    run mydock login -u "$REG_USER" --password-stdin "$REG_HOST" <<<"wrong-password"
    [[ $status -ne 0 ]]
    [[ ! -s $HOME/.docker/config.json ]] || [[ $(jq -r --arg h "$REG_HOST" '.auths[$h].auth // empty' "$HOME/.docker/config.json") == "" ]]
    run mydock login -u "$REG_USER" --password-stdin "$REG_HOST" <<<"$REG_PASS"
    assert_success
    assert_output_contains "Login Succeeded"
    [[ $(jq -r --arg h "$REG_HOST" '.auths[$h].auth' "$HOME/.docker/config.json") == "$(printf '%s' "$REG_USER:$REG_PASS" | base64)" ]]
    [[ $(stat -c %a "$HOME/.docker/config.json") == 600 ]]
    run mydock pull "$REG_HOST/test/app"
    assert_success
    grep -q 'user=tester granted=test/app:pull' "$TOKEN_LOG"
    run mydock logout "$REG_HOST"
    assert_success
    assert_output_contains "Removing login credentials for $REG_HOST"
    [[ $(jq -r --arg h "$REG_HOST" '.auths[$h] // "gone"' "$HOME/.docker/config.json") == gone ]]
}

@test "pull: anonymous token for a public repository" {
    registry_start --token --anonymous-pull
    run mydock pull "$REG_HOST/library/busybox"
    assert_success
    grep -q 'user=- granted=library/busybox:pull' "$TOKEN_LOG"
}

@test "pull: blobs redirected to another host never get the Authorization header" {
    registry_start --token --anonymous-pull
    proxy_start redirect
    run mydock pull "$PROXY_HOST/test/shared-a"
    assert_success
    # the registry side saw the token, the blob host saw none and served every blob
    grep -q 'blobs/.* auth=yes status=307' "$PROXY_LOG"
    [[ $(grep -c '^CDN GET .* auth=no status=200' "$PROXY_LOG") -ge 3 ]]
    [[ $(grep -c '^CDN .* auth=yes' "$PROXY_LOG") == 0 ]]
}

@test "pull busybox through registry-mirrors (docker.io), isolated from any other network" {
    command -v unshare >/dev/null || skip "no unshare"
    # A network namespace with only lo: even a broken fallback cannot reach Docker Hub.
    run unshare --net bash -c '
        set -e
        ip link set lo up
        source "$MD_LIB/e2e.bash"
        trap "md_cleanup \"$BATS_TEST_TMPDIR/ns\"" EXIT
        mkdir -p "$BATS_TEST_TMPDIR/ns"
        BATS_TEST_TMPDIR=$BATS_TEST_TMPDIR/ns registry_start
        printf "{\"registry-mirrors\": [\"http://%s\"]}\n" "$REG_HOST" >"$MD_ROOT/config.json"
        mydock pull busybox
        mydock images --format json'
    assert_success
    assert_output_contains "Status: Downloaded newer image for busybox:latest"
    assert_output_contains "docker.io/library/busybox:latest"
    assert_output_contains '"Repository":"busybox"'
}

@test "registry-mirrors: a dead mirror is skipped; with none alive the pull fails cleanly" {
    command -v unshare >/dev/null || skip "no unshare"
    local dead
    dead=$(md_free_port)
    run unshare --net bash -c '
        ip link set lo up
        source "$MD_LIB/e2e.bash"
        trap "md_cleanup \"$BATS_TEST_TMPDIR/ns\"" EXIT
        mkdir -p "$BATS_TEST_TMPDIR/ns"
        BATS_TEST_TMPDIR=$BATS_TEST_TMPDIR/ns registry_start || exit 99
        printf "{\"registry-mirrors\": [\"http://127.0.0.1:%s\", \"http://%s\"]}\n" "$1" "$REG_HOST" >"$MD_ROOT/config.json"
        mydock pull -q busybox || exit 98
        printf "{\"registry-mirrors\": [\"http://127.0.0.1:%s\"]}\n" "$1" >"$MD_ROOT/config.json"
        timeout 120 "$MYDOCK_BIN" --root "$MD_ROOT" pull test/app
        echo "status=$?"' _ "$dead"
    assert_success
    assert_output_contains "docker.io/library/busybox:latest"
    assert_output_contains "status=125"
}

@test "pull: two pulls of the same image at once both succeed" {
    mydock pull "$R/test/many" >"$BATS_TEST_TMPDIR/1.out" 2>&1 &
    local p1=$!
    mydock pull "$R/test/many" >"$BATS_TEST_TMPDIR/2.out" 2>&1 &
    local p2=$! s1=0 s2=0
    wait $p1 || s1=$?
    wait $p2 || s2=$?
    cat "$BATS_TEST_TMPDIR"/[12].out
    [[ $s1 == 0 && $s2 == 0 ]]
    run mydock images -q
    [[ $output == "$(fx test/many:latest .config | cut -c8-19)" ]]
    [[ $(md_layer_dirs "$R/test/many" | wc -l) == 100 ]]
    md_system_check
}
