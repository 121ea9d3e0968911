#!/usr/bin/env bats
# mydock login / logout: docker's credential file format, shared with docker.
# (Pulling with the stored credentials is in pull.bats.)

load ../lib/e2e

setup_file() {
    registry_start --token
    export R=$REG_HOST
}
teardown_file() { md_cleanup "$BATS_FILE_TMPDIR"; }
setup() { md_setup_root; }
teardown() { md_teardown; }

@test "login keeps the other entries and keys of ~/.docker/config.json" {
    mkdir -p "$HOME/.docker"
    echo '{"auths":{"other.example:5000":{"auth":"b3RoZXI6cHc="}},"psFormat":"table {{.ID}}"}' >"$HOME/.docker/config.json"
    run mydock login -u "$REG_USER" -p "$REG_PASS" "$R"
    assert_success
    assert_output_contains "Login Succeeded"
    local cfg=$HOME/.docker/config.json
    [[ $(jq -r '.auths["other.example:5000"].auth' "$cfg") == b3RoZXI6cHc= ]]
    [[ $(jq -r .psFormat "$cfg") == "table {{.ID}}" ]]
    [[ $(jq -r --arg h "$R" '.auths[$h].auth' "$cfg" | base64 -d) == "$REG_USER:$REG_PASS" ]]
}

@test "login with a wrong password fails and stores nothing" {
    run mydock login -u "$REG_USER" --password-stdin "$R" <<<"not-the-password"
    [[ $status -ne 0 ]]
    assert_output_matches "[Uu]nauthorized|denied|incorrect|invalid"
    [[ ! -e $HOME/.docker/config.json ]] || [[ $(jq -r --arg h "$R" '.auths[$h] // "none"' "$HOME/.docker/config.json") == none ]]
}

@test "DOCKER_CONFIG chooses the credentials directory" {
    export DOCKER_CONFIG=$BATS_TEST_TMPDIR/dockercfg
    run mydock login -u "$REG_USER" --password-stdin "$R" <<<"$REG_PASS"
    assert_success
    [[ -f $DOCKER_CONFIG/config.json ]]
    [[ ! -e $HOME/.docker/config.json ]]
    run mydock logout "$R"
    assert_success
    assert_output_contains "Removing login credentials for $R"
}

@test "logout of a server never logged in to" {
    run mydock logout "$R"
    assert_success
    assert_output_contains "Not logged in to $R"
}
