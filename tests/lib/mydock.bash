# Helpers that look at what mydock stored: layer directories of a pulled image, and an
# overlay mount of them for comparing the merged tree.

# md_layer_dirs IMAGE: the unpacked layer directories of IMAGE, bottom first, one per line.
# Uses `mydock inspect`'s GraphDriver.Data (LowerDir topmost-first, then UpperDir if given
# as docker's overlay2 does) when present, else finds, for each DiffID of RootFS.Layers, the
# directory named by its hex under the state root (its diff/, fs/, rootfs/ or tree/ subdir, or
# root/ beside a layer.json, if it has one).
md_layer_dirs() {
    local j
    j=$(mydock inspect "$1") || return 1
    if jq -e '.[0].GraphDriver.Data | (.LowerDir // .UpperDir) // empty' <<<"$j" >/dev/null; then
        jq -r '.[0].GraphDriver.Data | ((.LowerDir // "") | split(":") | map(select(. != "")) | reverse[]), (.UpperDir // empty)' <<<"$j"
        return
    fi
    local id
    for id in $(jq -r '.[0].RootFS.Layers[]' <<<"$j"); do
        md_layer_dir "$id" || { echo "no layer directory for $id under $MD_ROOT" >&2; return 1; }
    done
}

# md_layer_dir DIFFID: the directory holding the layer DIFFID under $MD_ROOT (see above).
md_layer_dir() {
    local hex=${1#sha256:} d s
    d=$(find "$MD_ROOT" -mindepth 1 -maxdepth 4 -type d -name "$hex" -not -path '*/staging/*' \
        -not -path '*/tmp/*' -not -path '*/ingest/*' 2>/dev/null | head -n 1)
    [[ -n $d ]] || return 1
    for s in diff fs rootfs tree; do
        [[ -d $d/$s ]] && { echo "$d/$s"; return 0; }
    done
    [[ -d $d/root && -f $d/layer.json ]] && { echo "$d/root"; return 0; }
    echo "$d"
}

# md_layer_present DIFFID: true when some directory under $MD_ROOT is named by DIFFID's hex.
md_layer_present() {
    [[ -n $(find "$MD_ROOT" -mindepth 1 -maxdepth 4 -name "${1#sha256:}" 2>/dev/null | head -n 1) ]]
}

# md_mount_image IMAGE DIR: mounts IMAGE's layers read-only at DIR with overlayfs (root).
md_mount_image() {
    local dirs lower
    dirs=$(md_layer_dirs "$1") || return 1
    lower=$(tac <<<"$dirs" | paste -sd:)
    mkdir -p "$2"
    if [[ $(wc -l <<<"$dirs") -eq 1 ]]; then
        mount --bind -o ro "$dirs" "$2"   # one layer: overlay needs two lower dirs
    else
        mount -t overlay overlay -o "ro,lowerdir=$lower" "$2"
    fi
}

# md_no_image_content: fails when the root holds an unpacked busybox (a half pull kept).
md_no_busybox_in_store() {
    local found
    found=$(find "$MD_ROOT" -name busybox -type f 2>/dev/null | head -n 3)
    if [[ -n $found ]]; then
        echo "unpacked content left in the store: $found" >&2
        return 1
    fi
}

# md_system_check: `mydock system check` must succeed and say nothing alarming.
md_system_check() {
    run mydock system check
    if [[ $status -ne 0 ]]; then
        printf 'system check failed (%s):\n%s\n' "$status" "$output" >&2
        return 1
    fi
}

# md_layer_absent DIFFID: fails (saying where) when a directory named by DIFFID's hex is left.
md_layer_absent() {
    local left
    left=$(find "$MD_ROOT" -mindepth 1 -maxdepth 4 -name "${1#sha256:}" 2>/dev/null | head -n 1)
    if [[ -n $left ]]; then
        echo "layer $1 still present: $left" >&2
        return 1
    fi
}
