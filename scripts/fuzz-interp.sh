#!/bin/sh
# Runs the interpreter's differential tester (against the host CPU) and its
# random-bytes tester with fresh seeds until stopped (Ctrl-C).  Each failing
# batch is saved under fuzz-interp/ with the command that reproduces it.
# usage: fuzz-interp.sh BUILD_DIR [BATCH]
set -u
build=$1 batch=${2:-200000}
out=fuzz-interp
mkdir -p "$out"
seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
while :; do
    log="$out/run-$seed.txt"
    if ! INTERP_DIFF_SEED=$seed INTERP_DIFF_SEQUENCES=$batch "$build/tests/test_interp_diff" >"$log" 2>&1; then
        echo "INTERP_DIFF_SEED=$seed INTERP_DIFF_SEQUENCES=$batch $build/tests/test_interp_diff" >>"$log"
        mv "$log" "$out/mismatch-diff-$seed.txt"
        echo "mismatch: $out/mismatch-diff-$seed.txt"
    elif ! INTERP_RANDOM_SEED=$seed INTERP_RANDOM_ITERATIONS=$batch "$build/tests/test_interp_guests" >"$log" 2>&1; then
        echo "INTERP_RANDOM_SEED=$seed INTERP_RANDOM_ITERATIONS=$batch $build/tests/test_interp_guests" >>"$log"
        mv "$log" "$out/failure-random-$seed.txt"
        echo "failure: $out/failure-random-$seed.txt"
    else
        rm -f "$log"
        echo "seed $seed: $batch sequences, no mismatch"
    fi
    seed=$((seed + batch))
done
