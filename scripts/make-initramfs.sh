#!/bin/sh
# Builds Petrel's default initramfs: Debian's static busybox plus the /init
# script in initramfs/init, as a gzip-compressed cpio (newc) archive.
# Needs busybox-static and cpio (`make deps` installs them).
#
# usage: scripts/make-initramfs.sh [OUT]     (default .cache/initramfs.cpio.gz)
set -eu

out=${1:-.cache/initramfs.cpio.gz}
here=$(cd "$(dirname "$0")/.." && pwd)
busybox=/bin/busybox

dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" || {
    echo "make-initramfs: busybox-static is not installed (apt-get install -y busybox-static)" >&2
    exit 1
}
command -v cpio >/dev/null || { echo "make-initramfs: cpio not found (apt-get install -y cpio)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/dev" "$tmp/proc" "$tmp/sys" "$tmp/tmp"
cp "$busybox" "$tmp/bin/busybox"
ln -s busybox "$tmp/bin/sh"
cp "$here/initramfs/init" "$tmp/init"
chmod 755 "$tmp/init" "$tmp/bin/busybox"
# The kernel opens /dev/console for /init before anything is mounted.
mknod -m 600 "$tmp/dev/console" c 5 1 2>/dev/null || true

mkdir -p "$(dirname "$out")"
(cd "$tmp" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9 > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
