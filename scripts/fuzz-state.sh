#!/bin/sh
# Builds the saved-state fuzz targets with clang (libFuzzer + ASan/UBSan)
# and runs each for SECONDS (default 5) from its seed corpus under fuzz/:
#   fuzz_state_loader       the saved-state loader (fuzz/state_loader.c)
#   fuzz_teleport_handshake the teleport handshake (fuzz/teleport_handshake.c)
# New inputs go to scratch directories; a crash is saved as OUT_DIR/crash-*
# (reproduce: OUT_DIR/<target> OUT_DIR/crash-...).
# usage: fuzz-state.sh OUT_DIR [SECONDS]
set -eu
out=$1 secs=${2:-5}
mkdir -p "$out"
cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
        -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -D_GNU_SOURCE -std=gnu11 -Wall -Wextra -Werror -Iinclude -Isrc"
state_src="src/state/crc32c.c src/state/ssm_stream.c src/state/ssm_header.c src/state/ssm_record.c
     src/state/ssm_ram_load.c src/state/ssm_ram_image.c src/state/ssm_ram_save.c src/state/ssm_cpu.c
     src/state/ssm_machine_load.c src/state/ssm_load_records.c
     src/state/ssm_progress.c src/memory/guest_ram.c src/devices/i8259.c src/devices/i8254.c
     src/io/io_bus.c src/time/vclock.c"
# shellcheck disable=SC2086
clang $cflags fuzz/state_loader.c $state_src $(pkg-config --cflags --libs libzstd) -lpthread \
    -o "$out/fuzz_state_loader"
# shellcheck disable=SC2086
clang $cflags fuzz/teleport_handshake.c src/cli/teleport_net.c $(pkg-config --cflags --libs libsodium) \
    -o "$out/fuzz_teleport_handshake"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in state_loader teleport_handshake; do
    mkdir -p "$work/$t"
    "$out/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=1024 -artifact_prefix="$out/" \
        "$work/$t" "fuzz/${t}_corpus"
done
