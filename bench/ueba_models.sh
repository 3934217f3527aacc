#!/usr/bin/env bash
# UEBA detection with and without the machine-learning ensemble, on users the models never
# saw. Trains the isolation forest, the boosted trees and the sequence autoencoder on the
# `train` side of a stable split by user id (--users train), then runs `warden detect` twice
# over the whole file — the anomaly layer alone, then with the three models — and evaluates
# both on the `test` users' labels only. Also prints each model's event-level figures on the
# test users and the time each step took.
#
# With --validation-share S (> 0), a further S of the users is held out from training too,
# the three models are calibrated on them (`warden train calibrate`) and detection runs a
# third time with the calibrated models.
#
#   bench/ueba_models.sh [--data DIR] [--no-build] [--test-share 0.3] [--validation-share 0.15]
set -euo pipefail

DATA="${DATA:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/ueba}"
BUILD=1
SHARE=0.3
VSHARE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --test-share) SHARE="$2"; shift 2 ;;
    --validation-share) VSHARE="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
EVENTS="$DATA/events.jsonl.gz"
LABELS="$DATA/labels.jsonl.gz"
if [ ! -f "$EVENTS" ] || [ ! -f "$LABELS" ]; then
  echo "no UEBA data at $DATA (events.jsonl.gz, labels.jsonl.gz); pass --data DIR" >&2
  exit 2
fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$BUILD" = 1 ]; then
  (cd "$ROOT" && cargo build --release -p warden-cli >&2)
fi
WARDEN="${WARDEN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/warden}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "== data: $EVENTS; machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
split=(--labels "$LABELS" --test-share "$SHARE" --validation-share "$VSHARE")

timed() { # label, command…
  local label="$1"; shift
  local t0; t0=$(date +%s.%N)
  "$@"
  echo "   ($label: $(echo "$(date +%s.%N) - $t0" | bc) s)" >&2
}

echo "== training on the train users"
timed "iforest" "$WARDEN" train iforest --input "$EVENTS" --format activity "${split[@]}" \
  --users train --contamination 0.01 --out "$WORK/if.wmdl"
timed "gbdt" "$WARDEN" train gbdt --input "$EVENTS" --format activity "${split[@]}" \
  --users train --out "$WORK/gb.wmdl"
timed "seqae" "$WARDEN" train seqae --input "$EVENTS" --format activity "${split[@]}" \
  --users train --out "$WORK/seq.wmdl"

echo "== each model on the test users (event level: attack events against all others)"
for m in if gb seq; do
  "$WARDEN" eval --model "$WORK/$m.wmdl" --input "$EVENTS" "${split[@]}" --users test |
    python3 -c '
import json, sys
d = json.load(sys.stdin)
print("%8s: ROC-AUC %.4f  PR-AUC %.4f  precision %.3f  recall %.3f  %.0f rows/s" % (
    d["model"], d["roc_auc"], d["pr_auc"], d["precision"], d["recall"], d["rows_per_second"]))'
done

# Labels of the test users only: detection figures count nothing else.
python3 "$ROOT/bench/user_split.py" "$LABELS" "$SHARE" > "$WORK/test-labels.jsonl"

echo "== detection on the test users: anomaly layer alone"
timed "detect" "$WARDEN" detect "$EVENTS" --labels "$WORK/test-labels.jsonl" -q 2>&1 |
  grep -v '^model:' >&2
echo "== detection on the test users: with the forest, the sequence autoencoder and the trees"
timed "detect + models" "$WARDEN" detect "$EVENTS" --labels "$WORK/test-labels.jsonl" -q \
  --model "$WORK/if.wmdl" --model "$WORK/seq.wmdl" --model "$WORK/gb.wmdl" 2>&1 >&2

if [ "$VSHARE" != "0" ]; then
  echo "== calibration on the validation users"
  timed "calibrate" "$WARDEN" train calibrate --model "$WORK/if.wmdl" --model "$WORK/seq.wmdl" \
    --model "$WORK/gb.wmdl" --input "$EVENTS" "${split[@]}" --out-dir "$WORK/cal"
  echo "== detection on the test users: with the three models, calibrated"
  timed "detect + calibrated models" "$WARDEN" detect "$EVENTS" --labels "$WORK/test-labels.jsonl" -q \
    --model "$WORK/cal/if.wmdl" --model "$WORK/cal/seq.wmdl" --model "$WORK/cal/gb.wmdl" 2>&1 >&2
fi
