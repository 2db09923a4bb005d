#!/bin/sh
# Builds Petrel's default initramfs: Debian's static busybox, the /init
# script in initramfs/init, the power-button handler, and (given the
# kernel's unpacked package) the modules /init loads: the ACPI button and
# its event device, and the virtio drivers.  A gzip-compressed cpio (newc).
# Needs busybox-static and cpio (`make deps` installs them).
#
# usage: scripts/make-initramfs.sh [OUT [KERNEL_ROOT]]
#        (default .cache/initramfs.cpio.gz; KERNEL_ROOT is the folder
#        scripts/fetch-kernel.sh unpacked, e.g. .cache/kernel/root)
set -eu

out=${1:-.cache/initramfs.cpio.gz}
kroot=${2:-}
here=$(cd "$(dirname "$0")/.." && pwd)
busybox=/bin/busybox

dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" || {
    echo "make-initramfs: busybox-static is not installed (apt-get install -y busybox-static)" >&2
    exit 1
}
command -v cpio >/dev/null || { echo "make-initramfs: cpio not found (apt-get install -y cpio)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/dev" "$tmp/proc" "$tmp/sys" "$tmp/tmp" "$tmp/etc/acpi/PWRF" \
    "$tmp/var/log" "$tmp/var/run"                   # acpid's log and pid files
cp "$busybox" "$tmp/bin/busybox"
ln -s busybox "$tmp/bin/sh"
cp "$here/initramfs/init" "$tmp/init"
# busybox acpid: the power button event runs etc/acpi/PWRF/shutdown.
printf 'EV_KEY 0x01 KEY_POWER 116 1 PWRF/shutdown\n' > "$tmp/etc/acpi.map"
cat > "$tmp/etc/acpi/PWRF/shutdown" <<'SCRIPT'
#!/bin/sh
echo "petrel-init: power button: shutting down cleanly" > /dev/console
kill -TERM -1 2>/dev/null
sync
umount -a -r 2>/dev/null
poweroff -f
SCRIPT
chmod 755 "$tmp/init" "$tmp/bin/busybox" "$tmp/etc/acpi/PWRF/shutdown"
# The kernel opens /dev/console for /init before anything is mounted.
mknod -m 600 "$tmp/dev/console" c 5 1 2>/dev/null || true

if [ -n "$kroot" ]; then
    for dir in "$kroot"/lib/modules/*/; do
        [ -d "$dir" ] || continue
        ver=$(basename "$dir")
        dest="$tmp/lib/modules/$ver"
        mkdir -p "$dest"
        for name in button evdev virtio virtio_ring virtio_pci virtio_pci_modern_dev virtio_pci_legacy_dev virtio_blk \
                    virtio_net net_failover failover virtio_console virtio-rng; do
            find "$dir/kernel" -name "$name.ko*" -exec cp {} "$dest/" \;
        done
        cp "$dir/modules.builtin" "$dir/modules.order" "$dest/" 2>/dev/null || true
    done
fi

mkdir -p "$(dirname "$out")"
(cd "$tmp" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9 > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
