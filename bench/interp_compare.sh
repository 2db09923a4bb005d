#!/bin/bash
# Interpreter speed beside Debian's Bochs and QEMU TCG (issue 3).  Not a test.
#
#   bench/interp_compare.sh BUILD_DIR [SECONDS] [ROUNDS]   (make bench-compare)
#
# All three run the same boot sector (guests/bench_boot.asm: the 10-instruction
# integer loop of guests/interp_bench.asm, in real mode and in 32-bit
# protected mode, and its x87 and SSE loops (8 of 10 instructions x87/SSE)
# in 32-bit protected mode): Petrel as a flat image (`petrel run --image --engine
# interp`), Bochs and QEMU (-accel tcg) from a floppy through their BIOS.
# Each emulator runs the image with 1,000 iterations and with enough for about
# SECONDS of CPU time (sized from a first run); the difference of the CPU
# time (user + sys) the two processes used is the loop's alone (start-up
# and BIOS cancel out).  CPU time, not wall time: the
# machines are shared and busy.  Best of ROUNDS interleaved rounds; prints
# MIPS and Petrel's ratio to each.
# Bochs (packages BENCH_PACKAGES in the Makefile) is installed by `make
# bench-deps`; a missing emulator is reported, not fatal.
set -u
build=${1:?usage: bench/interp_compare.sh BUILD_DIR [SECONDS] [ROUNDS]}
seconds=${2:-2}
rounds=${3:-3}
small=1000
petrel=$build/petrel
boot=$build/guests/bench_boot.bin
[ -x "$petrel" ] && [ -r "$boot" ] || { echo "build $petrel and $boot first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# image MODE N FILE: the boot sector with its mode byte and iteration count
# patched, padded to a 1.44 MB floppy.
image() {
    python3 - "$boot" "$1" "$2" "$3" <<'EOF'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[4:8] = struct.pack('<I', int(sys.argv[3]))
b[8] = int(sys.argv[2])
open(sys.argv[4], 'wb').write(bytes(b) + bytes(1474560 - len(b)))
EOF
}

# cpu_ms CMD...: CPU milliseconds (user + sys) CMD used, or "fail".
cpu_ms() {
    local t
    t=$( { /usr/bin/time -f 'cpu %U %S' timeout 600 "$@" </dev/null >/dev/null 2>"$tmp/err"; } 2>&1; \
         grep '^cpu ' "$tmp/err" | tail -n 1)
    [ -n "$t" ] && awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%d\n", (a[2] + a[3]) * 1000 }' || echo fail
}

run_petrel() { cpu_ms "$petrel" run --image "$1" --mode real --engine interp --memory 16; }
run_qemu() { cpu_ms qemu-system-x86_64 -M pc -accel tcg -m 16 -display none -nodefaults \
                 -drive "file=$1,format=raw,if=floppy" -boot a -device isa-debug-exit,iobase=0xf4,iosize=1; }
run_bochs() {
    cat > "$tmp/bochsrc" <<EOF
megs: 16
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
floppya: 1_44=$1, status=inserted
boot: floppy
display_library: rfb, options="timeout=0"
clock: sync=none
speaker: enabled=0
log: /dev/null
EOF
    echo c > "$tmp/bochs.rc"                  # Debian's Bochs has the debugger: continue at once
    cpu_ms bochs -q -f "$tmp/bochsrc" -rc "$tmp/bochs.rc"
}

have() { command -v "$1" >/dev/null; }
emus="petrel"
have qemu-system-x86_64 && emus="$emus qemu" || echo "qemu-system-x86_64 not installed: no QEMU TCG column" >&2
have bochs && [ -r /usr/share/bochs/BIOS-bochs-latest ] && emus="$emus bochs" ||
    echo "bochs not installed (make bench-deps): no Bochs column" >&2

# mips E MODE N: MIPS of emulator E on the loop from one pair of runs ("-" if unusable).
mips() {
    local a b
    a=$(run_$1 "$tmp/$1-$2-small.img"); b=$(run_$1 "$tmp/$1-$2-big.img")
    if [ "$a" = fail ] || [ "$b" = fail ] || [ "$b" -le "$a" ]; then echo -; return; fi
    awk -v n="$3" -v s=$small -v ms=$((b - a)) 'BEGIN { printf "%.1f\n", 10 * (n - s) / ms / 1000 }'
}

declare -A best iters
modes="0 1 2 3"
for e in $emus; do                            # size the loop from 5 M iterations (50 M instructions)
    for mode in $modes; do
        image $mode $small "$tmp/$e-$mode-small.img"
        image $mode 5000000 "$tmp/$e-$mode-big.img"
        m=$(mips $e $mode 5000000)
        [ "$m" = - ] && m=100
        n=$(awk -v m="$m" -v s="$seconds" 'BEGIN { n = m * 1e5 * s; if (n > 4e9) n = 4e9; if (n < 1e6) n = 1e6; printf "%d", n }')
        iters[$e$mode]=$n
        image $mode "$n" "$tmp/$e-$mode-big.img"
    done
done
for ((r = 0; r < rounds; r++)); do
    for mode in $modes; do
        for e in $emus; do
            k=$e$mode
            mips=$(mips $e $mode "${iters[$k]}")
            [ "$mips" = - ] && continue
            awk -v x="$mips" -v y="${best[$k]:-0}" 'BEGIN { exit !(x > y) }' && best[$k]=$mips
        done
    done
done

echo "guests/bench_boot.asm loops, ~${seconds} s of CPU time per run, best of $rounds rounds:"
printf '  %-22s %10s %10s %10s %12s %12s\n' mode Petrel "QEMU TCG" Bochs "Petrel/QEMU" "Petrel/Bochs"
names=("integer, real mode" "integer, 32-bit" "x87 loop, 32-bit" "SSE loop, 32-bit")
for mode in $modes; do
    p=${best[petrel$mode]:--} q=${best[qemu$mode]:--} x=${best[bochs$mode]:--}
    ratio() { [ "$1" = - ] || [ "$2" = - ] && echo - || awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
    printf '  %-22s %10s %10s %10s %12s %12s\n' "${names[$mode]}" "$p" "$q" "$x" "$(ratio "$p" "$q")" "$(ratio "$p" "$x")"
done
echo "(MIPS; target: Petrel >= 3.5x Bochs)"
