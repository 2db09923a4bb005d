#!/bin/bash
# Disk benchmark (issue 7, virtio-blk).  Not a test: prints the guest's
# figures beside the host's on the same file, measured in the same run.
#
#   bench/linux_disk.sh BUILD_DIR [MIB] [RUNS]          (make bench-disk)
#
# bench/guest/disk_io.c, built with `gcc -static`, measures with O_DIRECT:
# sequential write and read in 1 MiB blocks over MIB MiB (default 64), and
# 4 KiB reads at random offsets for 3 s (one at a time: queue depth 1).  It
# runs on the host against a fully allocated raw image file (in
# ${TMPDIR:-/var/tmp}; O_DIRECT needs a real file system, not tmpfs), and in
# Linux under Petrel against /dev/vda, a virtio-blk disk on that same file
# (`petrel run --disk`; Debian's cloud kernel, Petrel's initramfs with the
# program appended, petrel.test=disk-bench).  Host and guest runs alternate,
# RUNS (default 3) of each; medians.  Ratios guest / host (target >= 0.8x).
#
# For comparison only, the same guest under QEMU TCG (-M pc, virtio-blk-pci
# on the same file, QEMU's default cache mode) where qemu-system-x86_64 is
# installed (`make bench-compare` installs it); its column is "-" otherwise.
#
# Petrel opens images without O_DIRECT, so the guest's requests go through
# the host's page cache while the host figures bypass it (QEMU's default
# does the same).
set -u
build=${1:?usage: bench/linux_disk.sh BUILD_DIR [MIB] [RUNS]}
mib=${2:-64}
runs=${3:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
petrel=$build/petrel
kernel=$(sh "$here/scripts/fetch-kernel.sh" "$here/.cache/kernel") || exit 1
base_initrd=$here/.cache/initramfs.cpio.gz
[ -r "$base_initrd" ] || sh "$here/scripts/make-initramfs.sh" "$base_initrd" "$here/.cache/kernel/root" >/dev/null

work=$(mktemp -d "${TMPDIR:-/var/tmp}/petrel-disk-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/bin"
gcc -O2 -static -Wall -Wextra -o "$work/root/bin/disk_io" "$here/bench/guest/disk_io.c" || exit 1
# A second cpio appended to the default initramfs adds /bin/disk_io.
(cd "$work/root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip > "$work/extra.cpio.gz"
cat "$base_initrd" "$work/extra.cpio.gz" > "$work/initrd.cpio.gz"
img=$work/disk.img
dd if=/dev/zero of="$img" bs=1M count=$((mib + 1)) status=none conv=fsync

host_run() { "$work/root/bin/disk_io" "$img" "$mib" 3; }
guest_run() {
    timeout 600 "$petrel" run --kernel "$kernel" --initrd "$work/initrd.cpio.gz" --memory 256 --console stdio \
        --disk "$img" --append "console=ttyS0 panic=-1 reboot=k quiet petrel.test=disk-bench petrel.bench_mib=$mib" \
        </dev/null 2>/dev/null | tr -d '\r' | grep '^disk_io:'
}
qemu_run() {
    command -v qemu-system-x86_64 >/dev/null || return 0
    timeout 600 qemu-system-x86_64 -M pc -accel tcg -cpu max -m 256 -kernel "$kernel" -initrd "$work/initrd.cpio.gz" \
        -append "console=ttyS0 panic=-1 reboot=k quiet petrel.test=disk-bench petrel.bench_mib=$mib" \
        -drive "file=$img,format=raw,if=none,id=d0" -device virtio-blk-pci,drive=d0 \
        -nographic -no-reboot -nodefaults -serial stdio </dev/null 2>/dev/null | tr -d '\r' | grep '^disk_io:'
}
figure() { awk -v k="$1" '$2 == k { print $3 }'; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }

engine=$("$petrel" run --kernel "$kernel" --initrd "$base_initrd" --console none --append "petrel.poweroff=1" \
             </dev/null 2>&1 | grep -m1 'petrel: engine' | sed 's/^petrel: engine //; s/, because.*//; s/ because.*//')
echo "== disk: O_DIRECT, ${mib} MiB raw image in ${TMPDIR:-/var/tmp}, median of $runs alternating runs"
echo "   guest: Linux on Petrel ($engine)"
host_out=""; guest_out=""; qemu_out=""
for i in $(seq "$runs"); do
    h=$(host_run);  host_out+="$h"$'\n'
    g=$(guest_run); guest_out+="$g"$'\n'
    q=$(qemu_run);  qemu_out+="$q"$'\n'
    [ -n "$g" ] || echo "guest run $i: no figures (disk_io failed or the guest did not boot)"
done
printf '  %-22s %10s %10s %10s %14s\n' "" host petrel "qemu tcg" "petrel/host"
for key in seq-write seq-read rand-read-4k; do
    unit=MiB/s; [ "$key" = rand-read-4k ] && unit=IOPS
    h=$(printf '%s' "$host_out" | figure "$key" | median)
    g=$(printf '%s' "$guest_out" | figure "$key" | median)
    q=$(printf '%s' "$qemu_out" | figure "$key" | median)
    awk -v k="$key ($unit)" -v h="$h" -v g="$g" -v q="$q" 'BEGIN {
        r = (h + 0 > 0 && g != "-") ? sprintf("%.2fx", g / h) : "-"
        printf "  %-22s %10s %10s %10s %14s\n", k, h, g, q, r }'
done
echo "  (target: guest >= 0.8x host)"
