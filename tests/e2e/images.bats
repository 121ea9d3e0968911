#!/usr/bin/env bats
# mydock images / rmi / inspect / tag against images pulled from the test registry.

load ../lib/e2e

setup_file() {
    registry_start
    export R=$REG_HOST
}
teardown_file() { md_cleanup "$BATS_FILE_TMPDIR"; }
setup() { md_require_root; md_setup_root; }
teardown() { md_teardown; }

id12() { fx "$1" .config | cut -c8-19; }

@test "images: docker's table" {
    mydock pull -q "$R/library/busybox" >/dev/null
    mydock pull -q "$R/test/app" >/dev/null
    run mydock images
    assert_success
    [[ ${lines[0]} =~ ^REPOSITORY\ +TAG\ +IMAGE\ ID\ +CREATED\ +SIZE$ ]]
    [[ ${#lines[@]} == 3 ]]
    local row
    row=$(grep -F "$R/library/busybox " <<<"$output")
    # fixtures were created 2023-11-14; busybox-static unpacks to about 2 MB
    [[ $row =~ ^$R/library/busybox\ +latest\ +$(id12 library/busybox:latest)\ +[0-9]+\ years\ ago\ +[0-9.]+[kM]B$ ]]
    row=$(grep -F "$R/test/app " <<<"$output")
    [[ $row =~ ^$R/test/app\ +latest\ +$(id12 test/app:latest)\ + ]]
    # columns line up (docker's tabwriter): IMAGE ID starts at the same offset on every line
    local col
    col=$(awk 'NR==1 { print index($0, "IMAGE ID") }' <<<"$output")
    [[ $(awk -v c="$col" 'NR>1 { print substr($0, c, 12) }' <<<"$output" | sort) == \
       "$(printf '%s\n' "$(id12 library/busybox:latest)" "$(id12 test/app:latest)" | sort)" ]]
}

@test "images -q, --digests, --no-trunc, REPOSITORY[:TAG] filter" {
    mydock pull -q "$R/test/shared-a" >/dev/null
    mydock pull -q "$R/test/shared-b" >/dev/null
    run mydock images -q
    assert_success
    [[ $(sort <<<"$output") == "$(printf '%s\n' "$(id12 test/shared-a:latest)" "$(id12 test/shared-b:latest)" | sort)" ]]
    run mydock images --digests
    assert_success
    [[ ${lines[0]} =~ ^REPOSITORY\ +TAG\ +DIGEST\ +IMAGE\ ID\ +CREATED\ +SIZE$ ]]
    assert_output_contains "$(fx test/shared-a:latest)"
    run mydock images --no-trunc -q "$R/test/shared-b"
    assert_success
    [[ $output == "$(fx test/shared-b:latest .config)" ]]
    run mydock images "$R/test/shared-a:latest"
    assert_success
    [[ ${#lines[@]} == 2 ]]
    assert_output_contains "$R/test/shared-a"
    assert_output_not_contains "$R/test/shared-b"
}

@test "images --format json: one object per line" {
    mydock pull -q "$R/library/busybox:multi" >/dev/null
    run mydock images --format json
    assert_success
    [[ ${#lines[@]} == 1 ]]
    local j=${lines[0]}
    [[ $(jq -r .ID <<<"$j") == "$(fx library/busybox:multi .platforms.amd64.config | cut -c8-19)" ]]
    [[ $(jq -r .Repository <<<"$j") == "$R/library/busybox" ]]
    [[ $(jq -r .Tag <<<"$j") == multi ]]
    [[ $(jq -r .Digest <<<"$j") == "$(fx library/busybox:multi)" ]]
    [[ $(jq -r .CreatedAt <<<"$j") == 2023-11-14* ]]
    [[ $(jq -r .Size <<<"$j") =~ ^[0-9.]+[kM]B$ ]]
}

@test "images on an empty root: the header only" {
    run mydock images
    assert_success
    [[ ${#lines[@]} == 1 ]]
    run mydock images -q
    assert_success
    [[ -z $output ]]
}

@test "rmi keeps the layer another image shares, then deletes it with the last user" {
    mydock pull -q "$R/test/shared-a" >/dev/null
    mydock pull -q "$R/test/shared-b" >/dev/null
    local base top_a top_b
    base=$(fx test/shared-a:latest '.layers[0]')
    top_a=$(fx test/shared-a:latest '.layers[1]')
    top_b=$(fx test/shared-b:latest '.layers[1]')
    md_layer_dir "$base" >/dev/null && md_layer_dir "$top_a" >/dev/null && md_layer_dir "$top_b" >/dev/null
    run mydock rmi "$R/test/shared-a"
    assert_success
    assert_output_contains "Untagged: $R/test/shared-a:latest"
    assert_output_contains "Deleted: $(fx test/shared-a:latest .config)"
    md_layer_absent "$top_a"
    md_layer_present "$base"
    md_layer_present "$top_b"
    [[ $(cat "$(md_layer_dirs "$R/test/shared-b" | tail -n 1)/name") == b ]]
    run mydock images -q
    [[ $output == "$(id12 test/shared-b:latest)" ]]
    run mydock rmi "$(id12 test/shared-b:latest)"
    assert_success
    assert_output_contains "Deleted: $(fx test/shared-b:latest .config)"
    md_layer_absent "$base"
    md_layer_absent "$top_b"
    [[ -z $(mydock images -q) ]]
    md_system_check
}

@test "rmi of one tag of two untags only; rmi by digest; unknown image" {
    mydock pull -q "$R/library/busybox" >/dev/null
    mydock pull -q "$R/library/busybox:oci" >/dev/null       # the same manifest
    run mydock rmi "$R/library/busybox:oci"
    assert_success
    assert_output_contains "Untagged: $R/library/busybox:oci"
    assert_output_not_contains "Deleted:"
    [[ $(mydock images -q) == "$(id12 library/busybox:latest)" ]]
    # by digest while a tag remains: docker only untags the digest reference
    run mydock rmi "$R/library/busybox@$(fx library/busybox:latest)"
    assert_success
    assert_output_contains "Untagged: $R/library/busybox@$(fx library/busybox:latest)"
    assert_output_not_contains "Deleted:"
    [[ $(mydock images -q) == "$(id12 library/busybox:latest)" ]]
    run mydock rmi "$R/library/busybox"
    assert_success
    assert_output_contains "Untagged: $R/library/busybox:latest"
    assert_output_contains "Deleted: $(fx library/busybox:latest .config)"
    [[ -z $(mydock images -q) ]]
    # by digest as the only reference: deleted
    mydock pull -q "$R/test/entry@$(fx test/entry:latest)" >/dev/null
    run mydock rmi "$R/test/entry@$(fx test/entry:latest)"
    assert_success
    assert_output_contains "Deleted: $(fx test/entry:latest .config)"
    [[ -z $(mydock images -q) ]]
    run mydock rmi nosuchimage
    assert_status 1
    assert_output_contains "No such image: nosuchimage:latest"
}

@test "tag, then inspect by the new name; inspect of an absent image" {
    mydock pull -q "$R/test/entry" >/dev/null
    run mydock tag "$R/test/entry" local/entry:v1
    assert_success
    run mydock inspect local/entry:v1
    assert_success
    [[ $(jq -r '.[0].Id' <<<"$output") == "$(fx test/entry:latest .config)" ]]
    [[ $(jq -r '.[0].RepoTags | sort | join(",")' <<<"$output") == "$R/test/entry:latest,local/entry:v1" ]]
    [[ $(jq -c '.[0].Config.Entrypoint' <<<"$output") == '["/bin/echo","ep"]' ]]
    [[ $(jq -r '.[0].Os' <<<"$output") == linux ]]
    run mydock inspect nosuch
    assert_status 1
    assert_output_contains "No such object: nosuch"
}

@test "system prune -a removes unused images" {
    mydock pull -q "$R/test/shared-a" >/dev/null
    run mydock system prune -a -f
    assert_success
    [[ -z $(mydock images -q) ]]
    md_layer_absent "$(fx test/shared-a:latest '.layers[0]')"
    md_system_check
}
