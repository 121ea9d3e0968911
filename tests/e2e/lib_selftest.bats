#!/usr/bin/env bats
# Self-test of the test infrastructure (tests/lib), independent of mydock: the fixtures'
# expected trees hold for a reference unpacker, the registries and the fault proxy work.

load ../lib/e2e

setup() { fixtures_ensure; }
teardown() { md_teardown; }

layer_blob() {   # layer_blob NAME INDEX: path of the compressed layer blob in the layout
    local m
    m=$(jq -r '.layers['"$2"'].digest' "$FIXTURES_DIR/layout/blobs/sha256/$(fx "$1" | cut -d: -f2)")
    echo "$FIXTURES_DIR/layout/blobs/sha256/${m#sha256:}"
}

@test "whiteout fixture: expected per-layer and merged trees hold for a reference unpacker" {
    md_require_root
    local t=$BATS_TEST_TMPDIR i
    for i in 1 2 3; do
        python3 "$MD_LIB/refunpack.py" "$(layer_blob test/whiteout:latest $((i - 1)))" "$t/l$i"
        run python3 "$MD_LIB/treecmp.py" "$FIXTURES_DIR/expected/whiteout/layer$i.json" "$t/l$i"
        assert_success
    done
    mkdir "$t/merged"
    mount -t overlay overlay -o "lowerdir=$t/l3:$t/l2:$t/l1" "$t/merged"
    run python3 "$MD_LIB/treecmp.py" "$FIXTURES_DIR/expected/whiteout/merged.json" "$t/merged"
    umount "$t/merged"
    assert_success
}

@test "treecmp reports differences" {
    local t=$BATS_TEST_TMPDIR
    python3 "$MD_LIB/refunpack.py" "$(layer_blob test/whiteout:latest 0)" "$t/l1"
    echo changed >"$t/l1/a/keep"
    chmod 600 "$t/l1/b/x"
    ln -sf elsewhere "$t/l1/c"
    run python3 "$MD_LIB/treecmp.py" "$FIXTURES_DIR/expected/whiteout/layer1.json" "$t/l1"
    assert_status 1
    assert_output_contains "a/keep: sha256"
    assert_output_contains "b/x: mode 0o600, expected 0o644"
    assert_output_contains "c: target elsewhere, expected a/keep"
}

@test "registries: plain, TLS with the test CA, token auth" {
    registry_start
    run curl -sf "$REG_URL/v2/library/busybox/tags/list"
    assert_output_contains '"latest"'
    registry_start --tls
    run curl -sf --cacert "$REG_CA" "$REG_URL/v2/_catalog"
    assert_output_contains test/whiteout
    [[ -f /etc/mydock/certs.d/$REG_HOST/ca.crt ]]
    registry_start --token
    run curl -s -o /dev/null -w '%{http_code}' "$REG_URL/v2/"
    [[ $output == 401 ]]
    run skopeo inspect --tls-verify=false --creds "$REG_USER:$REG_PASS" "docker://$REG_HOST/test/app:latest"
    assert_success
    run skopeo inspect --tls-verify=false --creds "$REG_USER:wrong" "docker://$REG_HOST/test/app:latest"
    [[ $status -ne 0 ]]
}

@test "fixture images: formats, platforms and layers as documented" {
    registry_start
    run skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/library/busybox:multi"
    [[ $(jq -r .mediaType <<<"$output") == application/vnd.oci.image.index.v1+json ]]
    [[ $(jq -r '.manifests[1].platform.variant' <<<"$output") == v8 ]]
    run skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/library/busybox:multi-schema2"
    [[ $(jq -r .mediaType <<<"$output") == application/vnd.docker.distribution.manifest.list.v2+json ]]
    run skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/library/busybox:zstd"
    [[ $(jq -r '.layers[0].mediaType' <<<"$output") == application/vnd.oci.image.layer.v1.tar+zstd ]]
    run skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/library/busybox:uncompressed"
    [[ $(jq -r '.layers[0].mediaType' <<<"$output") == application/vnd.oci.image.layer.v1.tar ]]
    run skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/library/busybox:schema2"
    [[ $(jq -r '.mediaType' <<<"$output") == application/vnd.docker.distribution.manifest.v2+json ]]
    run skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/test/many:latest"
    [[ $(jq '.layers | length' <<<"$output") == 100 ]]
    [[ $(fx test/shared-a:latest '.layers[0]') == $(fx test/shared-b:latest '.layers[0]') ]]
}

@test "fault proxy: cut then Range resume, corrupt, 429, redirect without Authorization" {
    registry_start
    local d blob=$BATS_TEST_TMPDIR/blob
    d=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "$REG_URL/v2/library/busybox/manifests/latest" | jq -r '.layers[0].digest')
    proxy_start cut --times 1
    run curl -s -o "$blob" "http://$PROXY_HOST/v2/library/busybox/blobs/$d"
    [[ $status -ne 0 ]]
    curl -sf -H "Range: bytes=$(stat -c %s "$blob")-" "http://$PROXY_HOST/v2/library/busybox/blobs/$d" >>"$blob"
    [[ sha256:$(sha256sum <"$blob" | cut -d' ' -f1) == "$d" ]]
    grep -q 'range=bytes=.* status=206' "$PROXY_LOG"
    proxy_stop
    proxy_start corrupt --times 1
    [[ sha256:$(curl -s "http://$PROXY_HOST/v2/library/busybox/blobs/$d" | sha256sum | cut -d' ' -f1) != "$d" ]]
    [[ sha256:$(curl -s "http://$PROXY_HOST/v2/library/busybox/blobs/$d" | sha256sum | cut -d' ' -f1) == "$d" ]]
    proxy_stop
    proxy_start status --status 429 --retry-after 1 --times 1
    run curl -s -o /dev/null -w '%{http_code}' "http://$PROXY_HOST/v2/library/busybox/blobs/$d"
    [[ $output == 429 ]]
    run curl -s -o /dev/null -w '%{http_code}' "http://$PROXY_HOST/v2/library/busybox/blobs/$d"
    [[ $output == 200 ]]
    proxy_stop
    proxy_start redirect
    [[ sha256:$(curl -sfL "http://$PROXY_HOST/v2/library/busybox/blobs/$d" | sha256sum | cut -d' ' -f1) == "$d" ]]
    run curl -s -o /dev/null -w '%{http_code}' -L --location-trusted -H 'Authorization: Bearer x' \
        "http://$PROXY_HOST/v2/library/busybox/blobs/$d"
    [[ $output == 403 ]]
}
