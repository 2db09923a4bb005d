#!/bin/sh
# Fetches Debian's cloud kernel (linux-image-cloud-amd64) into a cache folder
# without installing it: `apt-get download` of the versioned package the
# metapackage depends on, then `dpkg-deb -x`.  Prints the vmlinuz path.
# Idempotent: a kernel already in the cache is reused.
#
# usage: scripts/fetch-kernel.sh [CACHE_DIR]     (default .cache/kernel)
set -eu

cache=${1:-.cache/kernel}
meta=linux-image-cloud-amd64
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)          # print absolute paths

find_vmlinuz() {
    ls "$cache"/root/boot/vmlinuz-* 2>/dev/null | sort | tail -n 1
}

existing=$(find_vmlinuz || true)
if [ -n "$existing" ] && [ -s "$existing" ]; then
    echo "$existing"
    exit 0
fi

command -v apt-cache >/dev/null || { echo "fetch-kernel: apt-cache not found (Debian/Ubuntu host needed)" >&2; exit 1; }

versioned() {
    apt-cache depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ <>]*\)$/\1/p' | head -n 1
}

pkg=$(versioned)
if [ -z "$pkg" ]; then
    echo "fetch-kernel: no package lists for $meta; running apt-get update" >&2
    apt-get update >&2
    pkg=$(versioned)
fi
[ -n "$pkg" ] || { echo "fetch-kernel: cannot resolve the package $meta depends on" >&2; exit 1; }

mkdir -p "$cache/debs"
cache_abs=$cache
(
    cd "$cache_abs/debs"
    # apt-get download writes into the current directory; _apt must be able
    # to write there when run as root, so fall back to a temporary folder.
    if ! apt-get download "$pkg" >&2 2>/dev/null; then
        apt-get update >&2
        tmp=$(mktemp -d)
        chmod 777 "$tmp"
        (cd "$tmp" && apt-get download "$pkg" >&2)
        mv "$tmp"/*.deb .
        rmdir "$tmp"
    fi
)
deb=$(ls "$cache_abs"/debs/"$pkg"_*.deb | sort | tail -n 1)
rm -rf "$cache_abs/root.tmp"
mkdir -p "$cache_abs/root.tmp"
dpkg-deb -x "$deb" "$cache_abs/root.tmp"
rm -f "$deb"                          # the unpacked tree is all we keep
rm -rf "$cache_abs/root"
mv "$cache_abs/root.tmp" "$cache_abs/root"

vmlinuz=$(find_vmlinuz)
[ -n "$vmlinuz" ] || { echo "fetch-kernel: $deb holds no boot/vmlinuz-*" >&2; exit 1; }
echo "$vmlinuz"
