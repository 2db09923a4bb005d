#!/bin/bash
# TCP throughput benchmark (issue: virtio; `make bench-net`).  Not a test:
# prints figures beside the limit measured in the same run.
#
#   bench/linux_net.sh BUILD_DIR [MIB]        (root: CAP_NET_ADMIN, CAP_SYS_ADMIN)
#
# Everything runs in a network namespace of its own (unshare -n): the
# host's network is never touched.  Two paths, the same tools (busybox nc
# on both ends; the receiver writes to a tmpfs file), MIB MiB (default 64)
# each way:
#   guest: Debian's cloud kernel + Petrel's initramfs (/init's
#          petrel.test=net: eth0 10.0.2.15, TCP 5001 receives into /tmp/rx,
#          5002 sends it back) on virtio-net over the tap pnet0 (10.0.2.1);
#   veth:  the same transfers between this namespace and a second one over
#          a veth pair (the limit: no VMM in the way).
# Host->target time ends when the receiver has the last byte (the guest's
# console line, the peer's marker file); target->host when the host's nc
# sees EOF.  Ratio = guest / veth; target >= 0.7.
set -u
build=${1:?usage: bench/linux_net.sh BUILD_DIR [MIB]}
mib=${2:-64}
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)

if [ -z "${PETREL_BENCH_NETNS:-}" ]; then
    [ "$(id -u)" = 0 ] || { echo "bench-net: needs root (a network namespace, a tap, a veth pair)" >&2; exit 1; }
    [ -c /dev/net/tun ] || { echo "bench-net: /dev/net/tun is missing" >&2; exit 1; }
    PETREL_BENCH_NETNS=1 exec unshare -n "$0" "$build" "$mib"
fi

kernel=$(sh "$here/scripts/fetch-kernel.sh" "$here/.cache/kernel") || exit 1
initrd=$here/.cache/initramfs.cpio.gz
[ -r "$initrd" ] || sh "$here/scripts/make-initramfs.sh" "$initrd" "$here/.cache/kernel/root" >/dev/null
tmp=$(mktemp -d)
peer=
vm=
cleanup() {
    [ -n "$vm" ] && kill "$vm" 2>/dev/null
    [ -n "$peer" ] && kill "$peer" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# rate BYTES MS -> MB/s with one decimal
rate() { awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.1f", (ms > 0 ? b / ms / 1000 : 0) }'; }
bytes=$((mib * 1048576))

# send IP MARKER_CMD: host -> target on 5001 (retrying until the target listens);
# prints the ms until MARKER_CMD succeeds (the receiver has everything).
send() {
    local ip=$1 marker=$2 t0
    # Until the target answers pings, a connect can sit in SYN back-off for
    # seconds after the listener is up, and that wait would count as transfer.
    for _ in $(seq 600); do busybox ping -c 1 -W 1 "$ip" >/dev/null 2>&1 && break; sleep 0.2; done
    for _ in $(seq 3000); do
        t0=$(now_ms)
        busybox nc "$ip" 5001 -e sh -c "dd if=/dev/zero bs=1M count=$mib 2>/dev/null" 2>/dev/null && break
        sleep 0.1
    done
    until eval "$marker"; do sleep 0.02; done
    echo $(( $(now_ms) - t0 ))
}

# receive IP: target -> host on 5002; prints "MS BYTES".
receive() {
    local ip=$1 t0 t1
    for _ in $(seq 3000); do
        t0=$(now_ms)
        busybox nc "$ip" 5002 -e sh -c "cat > $tmp/back" 2>/dev/null && break
        sleep 0.1
    done
    t1=$(now_ms)
    echo "$((t1 - t0)) $(stat -c %s "$tmp/back")"
}

ip link set lo up

# --- the limit: a veth pair to a second namespace
unshare -n sleep 100000 &
peer=$!
sleep 0.2
ip link add pveth0 type veth peer name pveth1
ip link set pveth1 netns "$peer"
ip addr add 10.0.3.1/24 dev pveth0
ip link set pveth0 up
nsenter -t "$peer" -n sh -c 'ip link set lo up; ip addr add 10.0.3.2/24 dev pveth1; ip link set pveth1 up'
nsenter -t "$peer" -n sh -c "busybox nc -l -p 5001 -e sh -c 'cat > $tmp/peer-rx; touch $tmp/peer-done'; \
                              busybox nc -l -p 5002 -e cat $tmp/peer-rx" &
veth_in=$(send 10.0.3.2 "[ -e $tmp/peer-done ]")
read -r veth_out veth_bytes < <(receive 10.0.3.2)

# --- the guest over the tap
ip tuntap add dev pnet0 mode tap
ip addr add 10.0.2.1/24 dev pnet0
ip link set pnet0 up
log=$tmp/console.log
: > "$log"
"$build/petrel" run --kernel "$kernel" --initrd "$initrd" --memory 512 --net tap:pnet0 --console "file:$log" \
    --append "console=ttyS0 panic=-1 reboot=k petrel.test=net" </dev/null >"$tmp/petrel.out" 2>&1 &
vm=$!
guest_in=$(send 10.0.2.15 "grep -q 'petrel-net: rx done' $log")
read -r guest_out guest_bytes < <(receive 10.0.2.15)
engine=$(sed -n 's/^petrel: engine auto: \([^,]*\),.*/\1/p' "$tmp/petrel.out" | head -n 1)

echo "== TCP throughput, $mib MiB each way (busybox nc both ends; MB/s = 10^6 bytes/s)"
[ "$veth_bytes" = "$bytes" ] || echo "   (veth: $veth_bytes of $bytes bytes came back)"
[ "$guest_bytes" = "$bytes" ] || echo "   (guest: $guest_bytes of $bytes bytes came back)"
[ -n "$engine" ] && echo "   petrel engine: $engine"
printf "%-18s %12s %12s\n" "" "host->target" "target->host"
printf "%-18s %12s %12s\n" "veth (limit)" "$(rate "$bytes" "$veth_in")" "$(rate "$veth_bytes" "$veth_out")"
printf "%-18s %12s %12s\n" "petrel guest (tap)" "$(rate "$bytes" "$guest_in")" "$(rate "$guest_bytes" "$guest_out")"
awk -v a="$veth_in" -v b="$guest_in" -v c="$veth_out" -v d="$guest_out" \
    'BEGIN { printf "%-18s %11.3fx %11.3fx   (target >= 0.7x)\n", "ratio guest/veth", a / b, c / d }'
