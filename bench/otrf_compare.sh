#!/usr/bin/env bash
# Detections per EventID of `warden hunt` on the OTRF data sets (flat JSON, one event per
# line, as the OTRF project exports them) with the SigmaHQ Windows rules, side by side
# with Hayabusa and Chainsaw when they are installed, and how many of Warden's detections
# name their computer and their record (or line), and how many are unverified (a filter
# tests a field the event's log does not have).
#
# Usage: bench/otrf_compare.sh [--no-build]
#
# Environment (all optional):
#   WORK               scratch folder (/tmp/warden-otrf-bench)
#   CARGO_TARGET_DIR   cargo target folder (default: target/ in the repository)
#   WARDEN             use this warden binary instead of building one
#   DATA_ROOT          folder holding otrf/ and sigma/ (default: ../shared/data)
#   HAYABUSA, CHAINSAW peer binaries (default: looked up on PATH; skipped if absent)
#   HAYABUSA_RULES     rules for Hayabusa (default: the same Windows Sigma rules; e.g.
#                      <hayabusa>/rules/sigma for its own converted copy)
#   CHAINSAW_MAPPING   Chainsaw mapping (default: sigma-event-logs-all.yml near the binary)
#   HAYABUSA_EXTRA_ARGS, CHAINSAW_EXTRA_ARGS   extra words for those command lines
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
DATA_ROOT="${DATA_ROOT:-$REPO_ROOT/../shared/data}"
WORK="${WORK:-/tmp/warden-otrf-bench}"
BUILD=1
[[ "${1:-}" == "--no-build" ]] && BUILD=0

log() { printf '[otrf_compare] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ -d "$DATA_ROOT/otrf" ]] || die "no OTRF data under $DATA_ROOT/otrf"
command -v unzip >/dev/null || die "unzip is needed to read the OTRF zips"
mkdir -p "$WORK/out"

if [[ -n "${WARDEN:-}" ]]; then
    WARDEN_BIN="$WARDEN"
else
    TARGET="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
    if [[ "$BUILD" -eq 1 ]]; then
        (cd "$REPO_ROOT" && cargo build --release -q -p warden-cli)
    fi
    WARDEN_BIN="$TARGET/release/warden"
fi
[[ -x "$WARDEN_BIN" ]] || die "warden binary not found: $WARDEN_BIN"

log "collecting Windows Sigma rules"
RULES="$WORK/rules-windows"
rm -rf "$RULES" && mkdir -p "$RULES"
ROOTS=()
for sub in rules rules-emerging-threats rules-threat-hunting; do
    [[ -d "$DATA_ROOT/sigma/$sub" ]] && ROOTS+=("$DATA_ROOT/sigma/$sub")
done
log "windows rules: $(python3 "$SCRIPT_DIR/collect_windows_rules.py" "$RULES" "${ROOTS[@]}")"

log "unzipping the OTRF data sets"
INPUT="$WORK/otrf"
rm -rf "$INPUT" && mkdir -p "$INPUT"
while IFS= read -r -d '' z; do
    name="$(basename "$z" .zip)"
    mkdir -p "$INPUT/$name"
    unzip -o -q "$z" -d "$INPUT/$name"
done < <(find "$DATA_ROOT/otrf" -name '*.zip' -print0)

log "warden hunt"
"$WARDEN_BIN" hunt -q --rules "$RULES" --format jsonl "$INPUT" >"$WORK/out/warden.jsonl" \
    2>"$WORK/out/warden.err"
grep -E '^(hunt|event shapes|rules|detections):' "$WORK/out/warden.err" >&2 || true

HAYABUSA_BIN="${HAYABUSA:-$(command -v hayabusa 2>/dev/null || true)}"
if [[ -n "$HAYABUSA_BIN" && -x "$HAYABUSA_BIN" ]]; then
    log "hayabusa json-timeline (JSON input)"
    read -r -a extra <<<"${HAYABUSA_EXTRA_ARGS:-}"
    "$HAYABUSA_BIN" json-timeline -J -L -d "$INPUT" -r "${HAYABUSA_RULES:-$RULES}" -w -q -C \
        -o "$WORK/out/hayabusa.jsonl" ${extra[@]+"${extra[@]}"} >"$WORK/out/hayabusa.log" 2>&1 \
        || log "hayabusa failed (see $WORK/out/hayabusa.log)"
else
    log "hayabusa: not found (put it on PATH or set HAYABUSA=...) - skipped"
fi

CHAINSAW_BIN="${CHAINSAW:-$(command -v chainsaw 2>/dev/null || true)}"
if [[ -n "$CHAINSAW_BIN" && -x "$CHAINSAW_BIN" ]]; then
    MAPPING="${CHAINSAW_MAPPING:-$(dirname "$CHAINSAW_BIN")/mappings/sigma-event-logs-all.yml}"
    if [[ -f "$MAPPING" ]]; then
        log "chainsaw hunt (JSON input)"
        read -r -a extra <<<"${CHAINSAW_EXTRA_ARGS:-}"
        "$CHAINSAW_BIN" hunt "$INPUT" -s "$RULES" --mapping "$MAPPING" --extension json --json \
            -o "$WORK/out/chainsaw.json" ${extra[@]+"${extra[@]}"} >"$WORK/out/chainsaw.log" 2>&1 \
            || log "chainsaw failed (see $WORK/out/chainsaw.log)"
    else
        log "chainsaw: mapping not found (set CHAINSAW_MAPPING) - skipped"
    fi
else
    log "chainsaw: not found (put it on PATH or set CHAINSAW=...) - skipped"
fi

python3 - "$WORK/out" <<'PY'
import collections, json, os, sys

out = sys.argv[1]

def warden(path):
    per, named, unverified, total = collections.Counter(), 0, collections.Counter(), 0
    with open(path) as fh:
        for line in fh:
            d = json.loads(line)
            total += 1
            eid = d.get("event_id")
            per[eid] += 1
            if d.get("computer") and (d.get("record_id") is not None or d.get("line")):
                named += 1
            if "unverified" in (d.get("details") or {}):
                unverified[eid] += 1
    return per, named, unverified, total

def peer(path):
    per = collections.Counter()
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        text = fh.read().strip()
    docs = json.loads(text) if text.startswith("[") else [json.loads(l) for l in text.splitlines() if l.strip()]
    for d in docs:
        eid = d.get("EventID") or (d.get("document", {}).get("data", {}) or {}).get("EventID")
        try:
            per[int(eid)] += 1
        except (TypeError, ValueError):
            per[None] += 1
    return per

w, named, unv, total = warden(os.path.join(out, "warden.jsonl"))
h = peer(os.path.join(out, "hayabusa.jsonl"))
c = peer(os.path.join(out, "chainsaw.json"))
print(f"warden: {total} detections, {named} ({100.0 * named / max(total, 1):.1f}%) name their computer and record or line")
print(f"{'EventID':>8} {'warden':>7} {'(unverified)':>12} {'hayabusa':>9} {'chainsaw':>9}")
for eid in sorted(set(w) | set(h or {}) | set(c or {}), key=lambda e: (e is None, e or 0)):
    hv = "-" if h is None else h[eid]
    cv = "-" if c is None else c[eid]
    print(f"{str(eid):>8} {w[eid]:>7} {unv[eid]:>12} {hv:>9} {cv:>9}")
PY
