#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/) for a number of executions or seconds, one after
# another, and prints per target: executions, seconds, executions per second and whether
# anything crashed. Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
#
#   bench/fuzz.sh                 # 10,000,000 executions per target
#   RUNS=0 SECONDS_EACH=20 bench/fuzz.sh     # a smoke run: 20 s per target
#   PROFILE=dev RUNS=0 SECONDS_EACH=8 bench/fuzz.sh   # CI: unoptimised, quicker to build
#   SANITIZER=none bench/fuzz.sh  # a long campaign: panics and overflow checks still caught,
#                                 # several times the executions a second without ASan
#   ONLY="activity_csv sigma_rules" bench/fuzz.sh    # some targets only
#
# New inputs found are added to fuzz/corpus/<target>/ (commit the interesting ones);
# a crash leaves its input in fuzz/artifacts/<target>/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
RUNS="${RUNS:-10000000}"
SECONDS_EACH="${SECONDS_EACH:-0}"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/warden-fuzz-target}"
targets="${ONLY:-$(cargo +nightly fuzz list)}"
# -O: release with debug assertions (overflow checks stay on); --dev: unoptimised.
opts=(-O)
if [ "${PROFILE:-release}" = dev ]; then opts=(--dev); fi
opts+=(-s "${SANITIZER:-address}")
cargo +nightly fuzz build "${opts[@]}" > /dev/null
failed=0
printf '%-16s %14s %9s %12s %s\n' target executions seconds 'execs/s' result
for t in $targets; do
  args=(-rss_limit_mb=2048 -max_len=65536 -print_final_stats=1)
  if [ "$RUNS" -gt 0 ]; then args+=(-runs="$RUNS"); fi
  if [ "$SECONDS_EACH" -gt 0 ]; then args+=(-max_total_time="$SECONDS_EACH"); fi
  start=$(date +%s.%N)
  log=$(mktemp)
  if cargo +nightly fuzz run "${opts[@]}" "$t" "corpus/$t" -- "${args[@]}" > "$log" 2>&1; then
    result=ok
  else
    result="CRASH (see fuzz/artifacts/$t)"
    failed=1
  fi
  end=$(date +%s.%N)
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  secs=$(awk "BEGIN {print $end - $start}")
  rate=$(awk "BEGIN {printf \"%d\", ${execs:-0} / $secs}")
  printf '%-16s %14s %9.1f %12s %s\n' "$t" "${execs:-?}" "$secs" "$rate" "$result"
  if [ "$result" != ok ]; then tail -40 "$log"; fi
  rm -f "$log"
done
exit $failed
