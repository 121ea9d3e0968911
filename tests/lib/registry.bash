# Test registries: Debian's docker-registry (CNCF distribution 2.8) on 127.0.0.1:<free port>,
# plain HTTP, TLS with a test CA, or token auth with a token issuer the test runs; and the
# fault proxy in front of one. See tests/lib/README.md for usage.

# registry_start [--tls] [--token] [--anonymous-pull] [--empty] [--storage DIR]
#   Starts a registry holding the fixture images (a copy of the seeded storage) unless
#   --empty; --storage DIR uses DIR as is. Exports:
#     REG_DIR      its scratch dir (config, logs, storage, certs)
#     REG_PORT, REG_HOST (127.0.0.1:PORT), REG_URL (http[s]://127.0.0.1:PORT), REG_STORAGE
#     --tls:   REG_CA (the test CA, also installed as /etc/mydock/certs.d/127.0.0.1:PORT/ca.crt,
#              localhost:PORT and $MD_TLS_NAME:PORT, removed by md_cleanup); REG_TLS_HOST
#              ($MD_TLS_NAME:PORT, reachable inside md_with_hosts)
#     --token: REG_USER, REG_PASS (the only valid credentials), TOKEN_URL, TOKEN_LOG; with
#              --anonymous-pull anyone may pull, else pulls need the credentials too
registry_start() {
    local tls= token= anon= empty= storage=
    while (($#)); do
        case $1 in
        --tls) tls=1 ;;
        --token) token=1 ;;
        --anonymous-pull) anon=--anonymous-pull ;;
        --empty) empty=1 ;;
        --storage) storage=$2; shift ;;
        *) echo "registry_start: unknown option $1" >&2; return 2 ;;
        esac
        shift
    done
    local dir port scheme=http
    dir=$(mktemp -d "$(md_tmp)/registry.XXXXXX")
    port=$(md_free_port)
    if [[ -z $storage ]]; then
        storage=$dir/storage
        if [[ -z $empty ]]; then
            fixtures_ensure || return 1
            cp -a "$FIXTURES_STORAGE" "$storage"
        else
            mkdir -p "$storage"
        fi
    fi
    {
        echo "version: 0.1"
        echo "log: {level: warn, accesslog: {disabled: false}}"
        echo "storage:"
        echo "  filesystem: {rootdirectory: $storage}"
        echo "  delete: {enabled: true}"
        echo "  maintenance: {uploadpurging: {enabled: false}}"
        echo "http:"
        echo "  addr: 127.0.0.1:$port"
        echo "  secret: mydock-test-secret"
        echo "  headers: {X-Content-Type-Options: [nosniff]}"
    } >"$dir/config.yml"
    if [[ -n $tls ]]; then
        scheme=https
        _reg_make_tls "$dir" || return 1
        {
            echo "  tls:"
            echo "    certificate: $dir/server.crt"
            echo "    key: $dir/server.key"
        } >>"$dir/config.yml"
        local h
        for h in "127.0.0.1:$port" "localhost:$port" "$MD_TLS_NAME:$port"; do
            mkdir -p "/etc/mydock/certs.d/$h"
            cp "$dir/ca.crt" "/etc/mydock/certs.d/$h/ca.crt"
            echo "/etc/mydock/certs.d/$h" >>"$dir/installed-files"
        done
        export REG_CA=$dir/ca.crt REG_TLS_HOST=$MD_TLS_NAME:$port
    fi
    if [[ -n $token ]]; then
        local tport
        tport=$(md_free_port)
        openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/token.key" -out "$dir/token.crt" \
            -days 2 -subj "/CN=mydock test token issuer" 2>/dev/null || return 1
        export REG_USER=tester REG_PASS=s3cret-Pass TOKEN_URL=http://127.0.0.1:$tport/token
        export TOKEN_LOG=$dir/token.log
        : >"$TOKEN_LOG"
        md_bg "$dir/token.pid" "$dir/token.out" python3 "$MD_LIB/tokenserver.py" --port "$tport" \
            --key "$dir/token.key" --cert "$dir/token.crt" --issuer mydock-test-issuer \
            --service mydock-test-registry --user "$REG_USER:$REG_PASS" $anon --log "$TOKEN_LOG"
        {
            echo "auth:"
            echo "  token:"
            echo "    realm: $TOKEN_URL"
            echo "    service: mydock-test-registry"
            echo "    issuer: mydock-test-issuer"
            echo "    rootcertbundle: $dir/token.crt"
        } >>"$dir/config.yml"
        md_wait_http "http://127.0.0.1:$tport/token" || { cat "$dir/token.out" >&2; return 1; }
    fi
    md_bg "$dir/registry.pid" "$dir/registry.log" /usr/bin/docker-registry serve "$dir/config.yml"
    export REG_DIR=$dir REG_PORT=$port REG_HOST=127.0.0.1:$port REG_URL=$scheme://127.0.0.1:$port
    export REG_STORAGE=$storage
    md_wait_http "$REG_URL/v2/" || { cat "$dir/registry.log" >&2; return 1; }
}

# Stops the registry (and its token server) started in DIR (default $REG_DIR).
registry_stop() { md_cleanup "${1:-$REG_DIR}"; }

# The host name the TLS registry's certificate also holds: not a loopback literal, so not an
# insecure registry; md_with_hosts makes it resolve to 127.0.0.1 for one command.
MD_TLS_NAME=registry.mydock.test

# md_with_hosts CMD...: runs CMD in a private mount namespace whose /etc/hosts also maps
# $MD_TLS_NAME to 127.0.0.1 (the host's /etc/hosts is not touched).
md_with_hosts() {
    local hosts
    hosts=$(mktemp "$(md_tmp)/hosts.XXXXXX")
    { cat /etc/hosts; echo "127.0.0.1 $MD_TLS_NAME"; } >"$hosts"
    unshare --mount --propagation private sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$hosts" "$@"
}

# A CA and a server certificate for 127.0.0.1, localhost and $MD_TLS_NAME, signed by it.
_reg_make_tls() {
    local dir=$1
    (
        cd "$dir" || exit 1
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
            -subj "/CN=mydock test CA" -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" &&
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
                -subj "/CN=127.0.0.1" &&
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:%s\n' "$MD_TLS_NAME" >ext.cnf && printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >>ext.cnf &&
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
                -out server.crt -days 2 -extfile ext.cnf
    ) >"$dir/openssl.log" 2>&1 || { cat "$dir/openssl.log" >&2; return 1; }
}

# proxy_start MODE [faultproxy.py options...]: the fault proxy in front of $REG_URL (plain
# HTTP registries only). Exports PROXY_PORT, PROXY_HOST (127.0.0.1:PORT), PROXY_LOG and, for
# the redirect mode, CDN_HOST (127.0.0.2:PORT, the second server). Modes: faultproxy.py.
proxy_start() {
    local mode=$1
    shift
    local dir port extra=()
    dir=$(mktemp -d "$(md_tmp)/proxy.XXXXXX")
    port=$(md_free_port)
    if [[ $mode == redirect ]]; then
        local cport
        cport=$(md_free_port)
        extra=(--storage "$REG_STORAGE" --redirect-host 127.0.0.2 --redirect-port "$cport")
        export CDN_HOST=127.0.0.2:$cport
    fi
    export PROXY_LOG=$dir/requests.log PROXY_DIR=$dir
    : >"$PROXY_LOG"
    md_bg "$dir/proxy.pid" "$dir/proxy.out" python3 "$MD_LIB/faultproxy.py" --port "$port" \
        --upstream "$REG_URL" --mode "$mode" --log "$PROXY_LOG" "${extra[@]}" "$@"
    export PROXY_PORT=$port PROXY_HOST=127.0.0.1:$port
    md_wait_http "http://$PROXY_HOST/v2/" || { cat "$dir/proxy.out" >&2; return 1; }
    : >"$PROXY_LOG"   # forget the readiness probes
}

proxy_stop() { md_cleanup "${1:-$PROXY_DIR}"; }
