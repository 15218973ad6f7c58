#!/usr/bin/env bash
# ctest's runner of one libFuzzer harness (the fuzz preset):
#   run_fuzzer.sh BINARY CORPUS WORKDIR DEFAULT_SECONDS [libFuzzer options...]
# Fuzzes a fresh copy of the checked-in corpus CORPUS for XENT_FUZZ_SECONDS seconds (environment;
# default DEFAULT_SECONDS) with a per-input limit of XENT_FUZZ_TIMEOUT seconds (default 10), and
# fails on any crash, sanitizer report, broken invariant, leak or slow input. Prints libFuzzer's
# first and last status lines (executions, coverage, exec/s) and its final stats; on failure the
# end of the log and the input that did it (WORKDIR/artifacts/).
set -u
bin=$1 corpus=$2 work=$3 default_seconds=$4
shift 4
seconds=${XENT_FUZZ_SECONDS:-$default_seconds}
per_input=${XENT_FUZZ_TIMEOUT:-10}
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$corpus"/* "$work/corpus/"
log="$work/fuzz.log"
echo "fuzzing $(basename "$bin") for ${seconds} s from $(ls "$work/corpus" | wc -l) seeds ($corpus)"
# libFuzzer stops itself after max_total_time; the outer limit only guards against a stuck process.
timeout --signal=KILL $((seconds + 300)) "$bin" -max_total_time="$seconds" -timeout="$per_input" \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" >"$log" 2>&1
rc=$?
grep -E '^#[0-9]+[[:space:]]+INITED' "$log" | tail -n 1
grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log"
echo "corpus after the run: $(ls "$work/corpus" | wc -l) inputs in $work/corpus"
if [ "$rc" -ne 0 ] || ! grep -qE '^#[0-9]+[[:space:]]+DONE' "$log"; then
  echo "FAILED (exit $rc); the end of $log:"
  tail -n 80 "$log"
  ls -l "$work/artifacts/"
  exit 1
fi
