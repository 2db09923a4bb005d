#!/bin/bash
# Boot-time and memory benchmark (issue: Linux boot).  Not a test: prints
# figures beside references measured in the same run.
#
#   bench/linux_boot.sh BUILD_DIR [RUNS] [CPUS]     (make bench-linux)
#
# 1. Wall time from process start to /init's marker line, Debian's cloud
#    kernel + Petrel's busybox initramfs, same command line, 256 MiB, CPUS
#    vCPUs; runs interleaved, median of RUNS: Petrel (engine auto) beside
#    QEMU TCG (-M pc -accel tcg -cpu max) and QEMU microvm with KVM (where it
#    fails, the failure is reported as measured).
# 2. Process start to the first guest instruction: `petrel run` of a guest
#    whose first instruction powers it off, from just before the spawn to the
#    time Petrel logs for the first entry into guest code; and the whole
#    process incl. teardown; median of 20 each.
# 3. Memory: RSS of a booted idle 256 MiB guest minus the guest RAM it
#    touched (the RAM mapping's own RSS), Petrel beside QEMU TCG.
# QEMU is installed (apt-get) by this script only: it is never a dependency.
set -u
build=${1:?usage: bench/linux_boot.sh BUILD_DIR [RUNS] [CPUS]}
runs=${2:-5}
cpus=${3:-1}
here=$(cd "$(dirname "$0")/.." && pwd)
petrel=$build/petrel
kernel=$(sh "$here/scripts/fetch-kernel.sh" "$here/.cache/kernel") || exit 1
initrd=$here/.cache/initramfs.cpio.gz
[ -r "$initrd" ] || sh "$here/scripts/make-initramfs.sh" "$initrd" "$here/.cache/kernel/root" >/dev/null
append="console=ttyS0 panic=-1 reboot=k petrel.cpus=$cpus petrel.poweroff=1"
marker="petrel-init: OK"

if ! command -v qemu-system-x86_64 >/dev/null; then
    echo "installing qemu-system-x86 (for the comparison only)..." >&2
    (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y qemu-system-x86) >/dev/null 2>&1
fi

now_ns() { date +%s%N; }

# Runs "$@" and prints the ms until the marker appears (or "fail: ..." and
# the last console line).  The guest powers itself off after the marker.
time_to_marker() {
    local start log rc t
    log=$(mktemp)
    start=$(now_ns)
    t=$( { timeout 300 "$@" </dev/null 2>&1 || true; } | while IFS= read -r line; do
            printf '%s\n' "$line" >> "$log"
            case $line in *"$marker"*) echo $(( ($(now_ns) - start) / 1000000 )); cat >/dev/null; break ;; esac
         done )
    if [ -n "$t" ]; then echo "$t"; else echo "fail: $(grep -v '^\s*$' "$log" | tail -n 1 | cut -c1-100)"; fi
    rm -f "$log"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }

run_petrel() { time_to_marker "$petrel" run --kernel "$kernel" --initrd "$initrd" --cpus "$cpus" --memory 256 \
                   --append "$append" --console stdio; }
run_tcg() { time_to_marker qemu-system-x86_64 -M pc -accel tcg -cpu max -m 256 -smp "$cpus" -kernel "$kernel" \
                -initrd "$initrd" -append "$append" -nographic -no-reboot -nodefaults -serial stdio; }
run_microvm() { time_to_marker qemu-system-x86_64 -M microvm -accel kvm -cpu host,-arch-capabilities -m 256 \
                    -smp "$cpus" -kernel "$kernel" -initrd "$initrd" -append "$append" -nographic -no-reboot \
                    -nodefaults -serial stdio; }

echo "== boot to /init's marker: $cpus vCPU(s), 256 MiB, median of $runs interleaved runs"
p_times=(); t_times=(); m_times=(); m_fail=""
for i in $(seq "$runs"); do
    r=$(run_petrel);  case $r in fail*) echo "petrel run $i: $r";; *) p_times+=("$r");; esac
    r=$(run_tcg);     case $r in fail*) echo "qemu tcg run $i: $r";; *) t_times+=("$r");; esac
    r=$(run_microvm); case $r in fail*) m_fail=$r;; *) m_times+=("$r");; esac
done
p=$(printf '%s\n' "${p_times[@]}" | median)
t=$(printf '%s\n' "${t_times[@]}" | median)
printf '  petrel (auto)             %8s ms   (%s)\n' "$p" "$("$petrel" run --kernel "$kernel" --initrd "$initrd" \
    --append "$append" --console none </dev/null 2>&1 | grep -m1 'petrel: engine' | sed 's/^petrel: engine //')"
printf '  qemu -M pc -accel tcg     %8s ms\n' "$t"
if [ ${#m_times[@]} -gt 0 ]; then
    printf '  qemu -M microvm -accel kvm %7s ms\n' "$(printf '%s\n' "${m_times[@]}" | median)"
else
    printf '  qemu -M microvm -accel kvm  failed here: %s\n' "${m_fail#fail: }"
fi
if [ "$p" != "-" ] && [ "$t" != "-" ]; then
    awk -v p="$p" -v t="$t" 'BEGIN { printf "  ratio petrel / qemu tcg   %8.2fx   (target <= 1.5x)\n", p / t }'
fi

# Timed with bash's $EPOCHREALTIME (no process of its own in the interval),
# beside the spawn of /bin/true, the floor any process pays on this host.
spawn_us() {   # command...: median of 20 runs, microseconds
    local s e
    for i in $(seq 20); do
        s=${EPOCHREALTIME/./}; "$@" >/dev/null 2>&1; e=${EPOCHREALTIME/./}
        echo $(( e - s ))
    done | median
}
# From just before the spawn to the moment the first vCPU enters guest code,
# as Petrel logs it (CLOCK_REALTIME, the clock of $EPOCHREALTIME).
first_insn_us() {   # command...: median of 20 runs, microseconds
    local s log t
    log=$(mktemp)
    for i in $(seq 20); do
        : > "$log"
        s=${EPOCHREALTIME/./}; PETREL_LOG=$log "$@" >/dev/null 2>&1
        t=$(sed -n 's/.*enters guest code first at \([0-9]*\)\.\([0-9]\{6\}\).*/\1\2/p' "$log")
        [ -n "$t" ] && echo $(( t - s ))
    done | median
    rm -f "$log"
}
echo "== process start to the first guest instruction, and the whole process, median of 20"
t_first=$(first_insn_us "$petrel" run --image "$build/guests/exit_at_once.bin")
t_petrel=$(spawn_us "$petrel" run --image "$build/guests/exit_at_once.bin")
t_true=$(spawn_us /bin/true)
awk -v f="$t_first" -v p="$t_petrel" -v t="$t_true" 'BEGIN {
    printf "  spawn to the first guest instruction  %.2f ms   (target < 10 ms)\n", f / 1000
    printf "  petrel run --image exit_at_once.bin   %.2f ms   (whole process, incl. teardown)\n", p / 1000
    printf "  /bin/true (process spawn floor)       %.2f ms   (petrel above it: %.2f ms)\n", t / 1000, (p - t) / 1000 }'

# RSS minus the RSS of the guest-RAM mapping: the mapping of exactly the
# guest's 256 MiB (Petrel puts guard pages around it, so no neighbour is
# merged into it), else the largest anonymous one (QEMU's, which has more).
overhead_kib() {
    awk -v want=$((256 * 1024)) '/^[0-9a-f]+-[0-9a-f]+ / { size = 0 } /^Size:/ { size = $2 }
         /^Rss:/ { rss += $2; if (size == want) exact = $2; if (size > big) { big = size; bigrss = $2 } }
         END { ram = exact != "" ? exact : bigrss; printf "%d %d\n", rss - ram, ram }' "/proc/$1/smaps"
}

measure_memory() {   # name, command...
    local name=$1; shift
    local fifo pid out
    fifo=$(mktemp -u); mkfifo "$fifo"
    out=$(mktemp)
    ( sleep 600 > "$fifo" ) & local holder=$!
    "$@" < "$fifo" > "$out" 2>&1 & pid=$!
    for _ in $(seq 600); do grep -q "$marker" "$out" && break; sleep 0.2; done
    sleep 2
    if grep -q "$marker" "$out" && [ -r "/proc/$pid/smaps" ]; then
        read -r over ram < <(overhead_kib "$pid")
        printf '  %-26s RSS minus touched guest RAM: %6.1f MiB  (guest RAM touched: %.1f MiB)\n' "$name" \
            "$(awk -v k="$over" 'BEGIN{print k/1024}')" "$(awk -v k="$ram" 'BEGIN{print k/1024}')"
    else
        printf '  %-26s did not reach the marker\n' "$name"
    fi
    kill "$pid" "$holder" 2>/dev/null; wait "$pid" 2>/dev/null
    rm -f "$fifo" "$out"
}
echo "== memory of a booted idle 256 MiB guest (target < 5 MiB for petrel)"
idle_append="console=ttyS0 panic=-1 reboot=k petrel.cpus=$cpus"
measure_memory "petrel (auto)" "$petrel" run --kernel "$kernel" --initrd "$initrd" --cpus "$cpus" --memory 256 \
    --append "$idle_append" --console stdio
measure_memory "qemu -M pc -accel tcg" qemu-system-x86_64 -M pc -accel tcg -cpu max -m 256 -smp "$cpus" \
    -kernel "$kernel" -initrd "$initrd" -append "$idle_append" -nographic -no-reboot -nodefaults -serial stdio
