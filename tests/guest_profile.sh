#!/bin/sh
# PETREL_GUEST_PROFILE (docs/interpreter.md): a guest spinning in one loop
# for a second gives samples, and every one is the loop's block: inside the
# guest image, which busy_loop.bin loads at 1 MiB.
#
#   tests/guest_profile.sh BUILD_DIR
set -u
build=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
PETREL_GUEST_PROFILE=$out timeout -s INT 1 "$build/petrel" run --engine interp \
    --image "$build/guests/busy_loop.bin" --mode long >/dev/null 2>&1
n=$(wc -l < "$out")
[ "$n" -ge 20 ] || { echo "guest profile: $n samples in a second of guest time"; exit 1; }
while read -r a; do
    [ $((a)) -ge $((0x100000)) ] && [ $((a)) -lt $((0x100100)) ] ||
        { echo "guest profile: a sample outside the guest's loop: $a"; exit 1; }
done < "$out"
echo "guest profile: OK ($n samples, all in the guest's loop)"
