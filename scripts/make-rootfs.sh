#!/bin/sh
# Builds a small Debian 12 root disk for Petrel: `debootstrap --variant=minbase
# bookworm` plus systemd as init, set up to boot fast on the serial console
# (root logged in automatically on ttyS0), then an ext4 image made from the
# tree with `mkfs.ext4 -d` (no loop mount).  Boot it with Petrel's initramfs
# and `root=/dev/vda` (see docs/virtio.md).
#
# Cached: the debootstrap tree stays in CACHE_DIR/tree and is reused while
# the package list below is unchanged; the image is rebuilt from the tree
# when it is missing or older than this script.  Needs root, debootstrap and
# e2fsprogs (`make deps`), and access to the Debian archive (the mirror of
# /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list).
#
# usage: scripts/make-rootfs.sh [IMAGE [CACHE_DIR]]
#        (default .cache/rootfs.ext4 and .cache/rootfs)
set -eu

image=${1:-.cache/rootfs.ext4}
cache=${2:-.cache/rootfs}
size=${PETREL_ROOTFS_SIZE:-1G}
# systemd as PID 1 and udev (device units: without it serial-getty waits for
# dev-ttyS0.device until it times out); nothing else beyond minbase.
include=systemd-sysv,udev
script=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

if [ -s "$image" ] && [ ! "$script" -nt "$image" ]; then
    echo "$image"
    exit 0
fi
[ "$(id -u)" = 0 ] || { echo "make-rootfs: debootstrap needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "make-rootfs: debootstrap not found (apt-get install -y debootstrap)" >&2; exit 1; }
command -v mkfs.ext4 >/dev/null || { echo "make-rootfs: mkfs.ext4 not found (apt-get install -y e2fsprogs)" >&2; exit 1; }

# The host's own Debian mirror (deb822 sources first, then the one-line form).
mirror() {
    m=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep -v security | head -n 1)
    [ -n "$m" ] || m=$(sed -n 's/^deb  *\(\[[^]]*\]  *\)\{0,1\}\([^ ]*\)  *bookworm .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n 1)
    echo "${m:-http://deb.debian.org/debian}"
}

mkdir -p "$cache"
tree=$cache/tree
stamp="bookworm minbase $include"
if [ "$(cat "$tree/.petrel-debootstrap" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$tree" "$cache/tree.tmp"
    echo "make-rootfs: debootstrap $stamp from $(mirror)" >&2
    debootstrap --variant=minbase --include="$include" bookworm "$cache/tree.tmp" "$(mirror)" >&2
    rm -rf "$cache/tree.tmp/var/cache/apt/archives/"*.deb "$cache/tree.tmp/var/lib/apt/lists/"*_Packages
    echo "$stamp" > "$cache/tree.tmp/.petrel-debootstrap"
    mv "$cache/tree.tmp" "$tree"
fi

# Configuration (idempotent: rerun on the cached tree whenever the image is rebuilt).
echo petrel > "$tree/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tpetrel\n' > "$tree/etc/hosts"
# /init mounts the root read-write already: no fsck pass, nothing to remount.
printf '/dev/vda\t/\text4\tdefaults\t0\t0\n' > "$tree/etc/fstab"
# Root logs in without a password on the serial console.
mkdir -p "$tree/etc/systemd/system/serial-getty@ttyS0.service.d"
cat > "$tree/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 %I $TERM
EOF
# Units a test VM does not need (timers, the VGA console's gettys, logind
# without D-Bus, the e2scrub jobs, module loading with no modules on the
# disk, debug/huge-page/queue file systems, users debootstrap made already,
# the journal kept in /run, no utmp records):
# masked so that boot stays short (each unit costs seconds on the
# interpreter) and `systemctl is-system-running` says "running".
for unit in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
            e2scrub_reap.service fstrim.timer getty@tty1.service getty-static.service \
            systemd-logind.service systemd-timesyncd.service systemd-networkd.service \
            systemd-resolved.service systemd-pstore.service systemd-hwdb-update.service \
            modprobe@.service systemd-modules-load.service systemd-sysusers.service \
            dev-hugepages.mount dev-mqueue.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
            sys-kernel-config.mount sys-fs-fuse-connections.mount systemd-journal-flush.service \
            systemd-update-utmp.service systemd-update-utmp-runlevel.service; do
    ln -sf /dev/null "$tree/etc/systemd/system/$unit"
done
# No kernel modules on the disk: the initramfs loaded the virtio drivers.
mkdir -p "$tree/etc/systemd/system.conf.d"
printf '[Manager]\nDefaultTimeoutStopSec=10s\n' > "$tree/etc/systemd/system.conf.d/petrel.conf"

mkdir -p "$(dirname "$image")"
rm -f "$image.tmp"
mkfs.ext4 -q -F -L petrel-root -d "$tree" "$image.tmp" "$size" >&2
mv "$image.tmp" "$image"
echo "$image"
