#!/usr/bin/env bash
# Build the sandbox's Prometheus 3 and promtool from the published Go module, once per machine.
#
#   tools/build-prometheus.sh            build what the cache lacks, print the cache's bin directory
#   tools/build-prometheus.sh --print    print the bin directory without building (exit 1 if incomplete)
#
# The pinned version lives in the wrapper module sandbox/prometheus/go.mod (its `require
# github.com/prometheus/prometheus` line, and nowhere else); Prometheus 3.X.Y is published as the
# module version v0.3XX.Y. Binaries go to ${LOYALTY_PLATFORM_CACHE:-~/.cache/loyalty-platform}/prometheus/
# <Prometheus version>/bin; each one is built into a temporary directory and moved into place only when
# the build succeeded, so a failed or interrupted build never leaves a half-written cache.
#
# Built without the `builtinassets` tag: the web UI's compiled assets are not part of the module, and the
# sandbox needs the HTTP API only (/api/v1/*, /-/reload, /-/ready); the UI pages answer with an error.
#
# Built with Prometheus's own plugin tags `remove_all_sd,enable_kubernetes_sd`: the sandbox's configurations
# discover through the Kubernetes API only (static targets are always built in), and leaving out the cloud
# providers' discovery SDKs (AWS, Azure, GCE, OCI and the others) takes a large share off a cold build.
# promtool is built the same way, so `promtool check config` refuses another discovery mechanism, as the
# sandbox's Prometheus would.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
module_dir=$here/sandbox/prometheus
wrapper=sandbox/prometheus/go.mod
upstream=github.com/prometheus/prometheus

go_bin=${GO:-}
if [ -z "$go_bin" ]; then
    if command -v go >/dev/null 2>&1; then go_bin=$(command -v go)
    elif [ -x /usr/local/go/bin/go ]; then go_bin=/usr/local/go/bin/go
    fi
fi

module_version=$(awk -v m="$upstream" '$1 == "require" && $2 == m { print $3 } $1 == m && $2 ~ /^v/ { print $2 }' "$module_dir/go.mod" | head -n1)
go_needed=$(awk '$1 == "go" { print $2 }' "$module_dir/go.mod")
if ! [[ $module_version =~ ^v0\.([0-9]+)\.([0-9]+)$ ]] || [ "${BASH_REMATCH[1]}" -lt 300 ]; then
    echo "$wrapper must require $upstream as v0.3XX.Y (Prometheus 3.XX.Y), not '${module_version:-nothing}'" >&2
    exit 1
fi
minor=${BASH_REMATCH[1]}
version=$((minor / 100)).$((minor % 100)).${BASH_REMATCH[2]}
bin=${LOYALTY_PLATFORM_CACHE:-$HOME/.cache/loyalty-platform}/prometheus/v$version/bin
names=(prometheus promtool)
tags=remove_all_sd,enable_kubernetes_sd
stamp="$module_version tags=$tags"

# A binary is current when its stamp file names the module version the wrapper pins and the build tags.
current() { [ -x "$bin/$1" ] && [ "$(cat "$bin/.$1.version" 2>/dev/null)" = "$stamp" ]; }
missing() { local name; for name in "${names[@]}"; do current "$name" || echo "$name"; done; }

todo=$(missing | tr '\n' ' ')
todo=${todo% }
if [ "${1:-}" = "--print" ]; then
    if [ -n "$todo" ]; then
        echo "Prometheus $version is not built ($todo missing or stale in $bin): run make bootstrap (tools/build-prometheus.sh)" >&2
        exit 1
    fi
    echo "$bin"
    exit 0
fi
if [ -z "$todo" ]; then
    echo "Prometheus $version: prometheus and promtool present in $bin" >&2
    echo "$bin"
    exit 0
fi

if [ -z "$go_bin" ] || [ ! -x "$go_bin" ]; then
    echo "building Prometheus $version needs the Go toolchain ($go_needed or newer, the go line of $wrapper)${go_bin:+, and $go_bin is not an executable}: install it from the Go project and put go on PATH, or set GO=/path/to/go" >&2
    exit 1
fi

mkdir -p "$bin"
work=$(mktemp -d "$bin/../.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
gomod() { (cd "$module_dir" && CGO_ENABLED=0 GOFLAGS=-mod=readonly "$go_bin" "$@"); }

# A dependency's replace and exclude directives do not apply to the module that requires it: the wrapper
# must repeat those of Prometheus's own go.mod, or the build would resolve other versions than upstream's.
directives() {
    awk '/^(replace|exclude)[ \t]*\(/ { block = $1; next }
         block != "" && /^\)/ { block = ""; next }
         { sub(/\/\/.*/, "") }
         block != "" && NF { $1 = $1; print block, $0; next }
         /^(replace|exclude)[ \t]/ { $1 = $1; print }' "$1" | sort -u
}
if ! gomod mod download "$upstream" >"$work/download.log" 2>&1 || ! upstream_mod=$(gomod list -m -f '{{.GoMod}}' "$upstream" 2>>"$work/download.log"); then
    echo "could not download $upstream $module_version for the wrapper module $wrapper; the last lines of go's output:" >&2
    tail -n 20 "$work/download.log" >&2
    exit 1
fi
lacking=$(comm -23 <(directives "$upstream_mod") <(directives "$module_dir/go.mod"))
if [ -n "$lacking" ]; then
    echo "the wrapper module $wrapper lacks these directives of $upstream $module_version's go.mod; copy them in:" >&2
    while IFS= read -r line; do echo "    $line" >&2; done <<<"$lacking"
    exit 1
fi

ldflags="-s -w"
for setting in "Version=$version" "Revision=$module_version" "Branch=HEAD" "BuildUser=loyalty-platform" "BuildDate=19700101-00:00:00"; do
    ldflags+=" -X github.com/prometheus/common/version.$setting"
done
started=$(date +%s)
for name in $todo; do
    t0=$(date +%s)
    echo "building $name $version ($upstream/cmd/$name $module_version)" >&2
    if ! gomod build -p "${BUILD_JOBS:-2}" -trimpath -tags "$tags" -ldflags "$ldflags" -o "$work/$name" "$upstream/cmd/$name" >"$work/$name.log" 2>&1; then
        echo "building $name from $upstream/cmd/$name (wrapper module $wrapper) failed; the last lines of its output:" >&2
        tail -n 20 "$work/$name.log" >&2
        exit 1
    fi
    mv -f "$work/$name" "$bin/$name"
    echo "$stamp" >"$bin/.$name.version"
    echo "built $name in $(( $(date +%s) - t0 )) s" >&2
done
echo "Prometheus $version built in $(( $(date +%s) - started )) s into $bin" >&2
echo "$bin"
