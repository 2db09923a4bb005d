#!/bin/sh
# Builds the saved-state loader's libFuzzer target with clang and runs it
# for SECONDS (default 5) from the seed corpus in fuzz/state_loader_corpus.
# New inputs go to a scratch directory; crashes are saved as
# OUT_DIR/crash-* with the input that reproduces them
# (OUT_DIR/fuzz_state_loader OUT_DIR/crash-...).
# usage: fuzz-state.sh OUT_DIR [SECONDS]
set -eu
out=$1 secs=${2:-5}
mkdir -p "$out"
src="src/state/crc32c.c src/state/ssm_stream.c src/state/ssm_header.c src/state/ssm_record.c
     src/state/ssm_ram_load.c src/state/ssm_cpu.c src/state/ssm_machine_load.c src/state/ssm_load_records.c
     src/state/ssm_progress.c src/memory/guest_ram.c src/devices/i8259.c src/devices/i8254.c
     src/io/io_bus.c src/time/vclock.c"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -D_GNU_SOURCE -std=gnu11 -Wall -Wextra -Werror \
    -Iinclude -Isrc fuzz/state_loader.c $src $(pkg-config --cflags --libs libzstd) -lpthread \
    -o "$out/fuzz_state_loader"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$out/fuzz_state_loader" -max_total_time="$secs" -rss_limit_mb=1024 -artifact_prefix="$out/" \
    "$work" fuzz/state_loader_corpus
