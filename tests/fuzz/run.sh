#!/bin/sh
# Run the fuzz target for SECONDS from the seeds (corpus kept in CORPUS between runs); fails
# with the fuzzer's report when it finds a crash, a leak or undefined behaviour.
# Usage: run.sh FUZZER SEEDS CORPUS SECONDS
fuzzer=$1 seeds=$2 corpus=$3 seconds=$4
mkdir -p "$corpus"
log="$corpus.log"
# -rss_limit_mb keeps a runaway input from taking the machine; artifacts land beside the corpus
"$fuzzer" -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$corpus-" "$corpus" "$seeds" > "$log" 2>&1
rc=$?
tail -n 25 "$log"
exit $rc
