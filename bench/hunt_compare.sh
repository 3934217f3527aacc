#!/usr/bin/env bash
# Throughput / memory of `warden hunt` on EVTX-ATTACK-SAMPLES with the SigmaHQ Windows
# rules, against its own parse-only floor and (when installed) Hayabusa and Chainsaw,
# followed by recall against the detections both peer tools agree on.
#
# Usage: bench/hunt_compare.sh [--copies N] [--no-build] [--no-hardlinks] [--min-recall PCT]
#   --copies N       timed input is N copies of the EVTX folder (copy_0 .. copy_{N-1}; default 10)
#   --no-build       do not run cargo; use the binary already in the target folder
#   --no-hardlinks   make real copies instead of hard links
#   --min-recall PCT exit 1 when peer recall of the single-copy run is below PCT percent
#
# Environment (all optional):
#   WORK               scratch folder for everything this script writes (/tmp/warden-hunt-bench)
#   CARGO_TARGET_DIR   cargo target folder (default: target/ in the repository)
#   WARDEN             use this warden binary instead of building one
#   DATA_ROOT          folder holding evtx-attack-samples/, sigma/, peer-detections/
#   EVTX_DIR, SIGMA_DIR, AGREED   override the individual inputs
#   HAYABUSA, CHAINSAW            peer binaries (default: looked up on PATH; skipped if absent)
#   HAYABUSA_RULES     rules folder for Hayabusa (default: the same Windows Sigma rules as
#                      warden; e.g. <hayabusa>/rules/sigma for its own converted copy)
#   CHAINSAW_MAPPING   Chainsaw mapping file (default: sigma-event-logs-all.yml found near the binary)
#   HAYABUSA_EXTRA_ARGS, CHAINSAW_EXTRA_ARGS, WARDEN_EXTRA_ARGS   extra words for those command lines
#
# Everything temporary lives under $WORK: rules-windows/, copies/copy_0..copy_{N-1}/, out/, logs/.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

if [[ -z "${DATA_ROOT:-}" ]]; then
    for cand in "$REPO_ROOT/shared/data" "$REPO_ROOT/../shared/data"; do
        if [[ -d "$cand/evtx-attack-samples" ]]; then DATA_ROOT="$cand"; break; fi
    done
    DATA_ROOT="${DATA_ROOT:-$REPO_ROOT/../shared/data}"
fi
EVTX_DIR="${EVTX_DIR:-$DATA_ROOT/evtx-attack-samples}"
SIGMA_DIR="${SIGMA_DIR:-$DATA_ROOT/sigma}"
AGREED="${AGREED:-$DATA_ROOT/peer-detections/agreed-visible.jsonl.gz}"
WORK="${WORK:-/tmp/warden-hunt-bench}"

COPIES=10
BUILD=1
HARDLINKS=1
MIN_RECALL=""

log() { printf '[hunt-bench] %s\n' "$*" >&2; }
die() { printf '[hunt-bench] error: %s\n' "$*" >&2; exit 2; }

usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "${BASH_SOURCE[0]}"; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --copies) [[ $# -ge 2 ]] || die "--copies needs a value"; COPIES="$2"; shift 2 ;;
        --copies=*) COPIES="${1#*=}"; shift ;;
        --no-build) BUILD=0; shift ;;
        --no-hardlinks) HARDLINKS=0; shift ;;
        --min-recall) [[ $# -ge 2 ]] || die "--min-recall needs a value"; MIN_RECALL="$2"; shift 2 ;;
        --min-recall=*) MIN_RECALL="${1#*=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[[ "$COPIES" =~ ^[0-9]+$ && "$COPIES" -ge 1 ]] || die "--copies must be a positive integer, got '$COPIES'"
[[ -d "$EVTX_DIR" ]] || die "EVTX folder not found: $EVTX_DIR"
[[ -d "$SIGMA_DIR" ]] || die "Sigma folder not found: $SIGMA_DIR"
command -v python3 >/dev/null 2>&1 || die "python3 is required"

mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
EVTX_DIR="$(cd "$EVTX_DIR" && pwd)"
SIGMA_DIR="$(cd "$SIGMA_DIR" && pwd)"
RULES_WIN="$WORK/rules-windows"
COPY_ROOT="$WORK/copies"
OUT="$WORK/out"
LOGS="$WORK/logs"
BIN_DIR="$WORK/bin"
RESULTS="$WORK/results.tsv"
mkdir -p "$OUT" "$LOGS" "$BIN_DIR"
: >"$RESULTS"
FAILED=0

# ---------------------------------------------------------------------------------------
# 1. Build warden (release), honouring CARGO_TARGET_DIR.
# ---------------------------------------------------------------------------------------
if [[ -n "${WARDEN:-}" ]]; then
    WARDEN_BIN="$WARDEN"
else
    TARGET_DIR="${CARGO_TARGET_DIR:-target}"
    [[ "$TARGET_DIR" == /* ]] || TARGET_DIR="$REPO_ROOT/$TARGET_DIR"
    if [[ "$BUILD" -eq 1 ]]; then
        log "building warden (cargo build --release -p warden-cli)"
        (cd "$REPO_ROOT" && cargo build --release -p warden-cli)
    fi
    WARDEN_BIN="$TARGET_DIR/release/warden"
fi
[[ -x "$WARDEN_BIN" ]] || die "warden binary not found or not executable: $WARDEN_BIN"
"$WARDEN_BIN" hunt --help >/dev/null 2>&1 </dev/null || die "$WARDEN_BIN has no working 'hunt' subcommand"
read -r -a WARDEN_EXTRA <<<"${WARDEN_EXTRA_ARGS:-}"

# ---------------------------------------------------------------------------------------
# 2. Windows rules: every Sigma YAML whose logsource product is windows, copied flat
#    (file names kept; a clashing name gets its parent folder as prefix).
# ---------------------------------------------------------------------------------------
log "collecting Windows Sigma rules into $RULES_WIN"
rm -rf "$RULES_WIN"
mkdir -p "$RULES_WIN"
RULE_ROOTS=()
for sub in rules rules-emerging-threats rules-threat-hunting; do
    if [[ -d "$SIGMA_DIR/$sub" ]]; then RULE_ROOTS+=("$SIGMA_DIR/$sub"); fi
done
[[ ${#RULE_ROOTS[@]} -gt 0 ]] || die "no rules folders under $SIGMA_DIR"
N_RULES_WIN="$(python3 "$SCRIPT_DIR/collect_windows_rules.py" "$RULES_WIN" "${RULE_ROOTS[@]}")"
log "windows rules: $N_RULES_WIN"
[[ "$N_RULES_WIN" -gt 0 ]] || die "no Windows rules found under $SIGMA_DIR"

# ---------------------------------------------------------------------------------------
# 3. Input: N copies of the EVTX folder (copy_0 .. copy_{N-1}), hard links when possible.
# ---------------------------------------------------------------------------------------
STAMP="$COPY_ROOT/.stamp"
WANT_STAMP="$EVTX_DIR|$COPIES|$HARDLINKS"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT_STAMP" ]]; then
    log "reusing $COPIES copies under $COPY_ROOT"
else
    log "preparing $COPIES copies of $EVTX_DIR under $COPY_ROOT"
    rm -rf "$COPY_ROOT"
    mkdir -p "$COPY_ROOT"
    for ((i = 0; i < COPIES; i++)); do
        dst="$COPY_ROOT/copy_$i"
        if [[ "$HARDLINKS" -eq 1 ]] && cp -al "$EVTX_DIR/." "$dst" 2>/dev/null; then
            continue
        fi
        rm -rf "$dst"
        cp -a "$EVTX_DIR/." "$dst"
    done
    printf '%s' "$WANT_STAMP" >"$STAMP"
fi

# Record count and input size of one copy (python, stdlib): EVTX records are walked
# chunk by chunk; bytes are those of the files a hunt reads (*.evtx, *.json, *.jsonl).
read -r PY_RECORDS INPUT_BYTES INPUT_FILES < <(python3 - "$EVTX_DIR" <<'PY'
import os, struct, sys

def evtx_records(path):
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:8] != b"ElfFile\x00":
        return 0
    n, off = 0, 4096
    while off + 512 <= len(data):
        if data[off:off + 8] == b"ElfChnk\x00":
            free = struct.unpack_from("<I", data, off + 48)[0]
            end = off + (free if 512 <= free <= 65536 else 65536)
            p = off + 512
            while p + 24 <= end:
                sig, size = struct.unpack_from("<II", data, p)
                if sig != 0x00002A2A or size < 24 or p + size > off + 65536:
                    break
                n += 1
                p += size
        off += 65536
    return n

records = size = files = 0
for dirpath, _dirs, names in os.walk(sys.argv[1]):
    for name in names:
        low = name.lower()
        path = os.path.join(dirpath, name)
        if low.endswith(".evtx"):
            records += evtx_records(path)
        elif not low.endswith((".json", ".jsonl")):
            continue
        size += os.path.getsize(path)
        files += 1
print(records, size, files)
PY
)
log "one copy: $INPUT_FILES input files, $INPUT_BYTES bytes, $PY_RECORDS EVTX records (python count)"

# Warm the page cache so that every tool reads from memory.
find "$EVTX_DIR" "$COPY_ROOT" -type f -exec cat {} + >/dev/null 2>&1 || true

# ---------------------------------------------------------------------------------------
# Timing: /usr/bin/time -v when it works, otherwise a python wrapper that reports the
# children's max RSS in the same format. Wall time is taken here (microseconds).
# ---------------------------------------------------------------------------------------
if [[ -x /usr/bin/time ]] && /usr/bin/time -v -o /dev/null true >/dev/null 2>&1; then
    TIMER=(/usr/bin/time -v)
else
    log "/usr/bin/time -v not usable; using python resource wrapper"
    cat >"$BIN_DIR/rtime.py" <<'PY'
import resource, subprocess, sys, time
args = sys.argv[1:]
out = None
if len(args) >= 2 and args[0] == "-o":
    out, args = args[1], args[2:]
if args and args[0] == "--":
    args = args[1:]
t0 = time.monotonic()
try:
    rc = subprocess.call(args)
except OSError as exc:
    print("rtime: %s" % exc, file=sys.stderr)
    rc = 127
el = time.monotonic() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
text = ("\tElapsed (wall clock) time (h:mm:ss or m:ss): %d:%05.2f\n"
        "\tMaximum resident set size (kbytes): %d\n" % (el // 60, el % 60, rss))
if out:
    with open(out, "w") as fh:
        fh.write(text)
else:
    sys.stderr.write(text)
sys.exit(rc if rc >= 0 else 128 - rc)
PY
    TIMER=(python3 "$BIN_DIR/rtime.py")
fi

now_us() {
    if [[ -n "${EPOCHREALTIME:-}" ]]; then
        local t="${EPOCHREALTIME/[,.]/}"
        printf '%s\n' "$t"
    else
        printf '%s\n' "$(( $(date +%s%N) / 1000 ))"
    fi
}

# timed NAME CWD CMD...   -> $LOGS/NAME.{stdout,stderr,time}; sets T_SECS T_RSS_KB T_RC
timed() {
    local name="$1" cwd="$2"
    shift 2
    local start end rc=0
    log "run $name: $*"
    start="$(now_us)"
    (cd "$cwd" && exec "${TIMER[@]}" -o "$LOGS/$name.time" "$@") \
        </dev/null >"$LOGS/$name.stdout" 2>"$LOGS/$name.stderr" || rc=$?
    end="$(now_us)"
    T_SECS="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')"
    T_RSS_KB="$(awk -F':[ \t]*' '/Maximum resident set size/ { v = $2 } END { print v + 0 }' \
        "$LOGS/$name.time" 2>/dev/null || echo 0)"
    T_RC="$rc"
    if [[ "$rc" -ne 0 ]]; then
        log "  $name exited with status $rc; last lines of $LOGS/$name.stderr:"
        tail -n 5 "$LOGS/$name.stderr" >&2 || true
    fi
}

# warden_events FILE -> N from the summary's "events <N>" (empty when absent)
warden_events() {
    { grep -Ei 'events[ =:]+[0-9]' "$1" 2>/dev/null || true; } | tail -n 1 \
        | { grep -Eio 'events[ =:]+[0-9,]+' || true; } | head -n 1 | tr -cd '0-9'
}

# count_detections KIND FILE -> number of detections in a tool's output file
count_detections() {
    python3 - "$1" "$2" <<'PY' 2>/dev/null || echo ""
import csv, json, sys
kind, path = sys.argv[1], sys.argv[2]
try:
    if kind == "jsonl":
        with open(path, encoding="utf-8", errors="replace") as fh:
            print(sum(1 for line in fh if line.strip().startswith("{")))
    elif kind == "csv":
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            print(max(sum(1 for _ in csv.reader(fh)) - 1, 0))
    elif kind == "json":
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        try:
            doc = json.loads(text)
            print(len(doc) if isinstance(doc, list) else 1)
        except ValueError:  # JSON lines / concatenated objects
            print(sum(1 for line in text.splitlines() if line.strip().startswith("{")))
    else:
        print("")
except OSError:
    print("")
PY
}

# record NAME RULES RECORDS BYTES DETECTIONS NOTE   (uses T_SECS T_RSS_KB T_RC)
record() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$1" "$2" "$3" "$4" "$T_SECS" "$T_RSS_KB" "$T_RC" "$5" "$6" >>"$RESULTS"
}

COPY_BYTES=$((INPUT_BYTES * COPIES))
COPY_RECORDS_PY=$((PY_RECORDS * COPIES))

# ---------------------------------------------------------------------------------------
# (a) warden hunt --parse-only over the copies: the parsing floor.
# ---------------------------------------------------------------------------------------
timed warden-parse "$WORK" "$WARDEN_BIN" hunt --parse-only -q ${WARDEN_EXTRA[@]+"${WARDEN_EXTRA[@]}"} "$COPY_ROOT"
[[ "$T_RC" -eq 0 ]] || FAILED=1
PARSE_EVENTS="$(warden_events "$LOGS/warden-parse.stderr")"
record "warden --parse-only" "-" "${PARSE_EVENTS:-$COPY_RECORDS_PY}" "$COPY_BYTES" "" \
    "${COPIES}x$([[ -n "$PARSE_EVENTS" ]] || echo ', records: python count')"

# ---------------------------------------------------------------------------------------
# (b) warden hunt with the Windows rules over the copies.
# ---------------------------------------------------------------------------------------
rm -f "$OUT/warden-copies.jsonl"
timed warden-hunt "$WORK" "$WARDEN_BIN" hunt --rules "$RULES_WIN" --format jsonl \
    --output "$OUT/warden-copies.jsonl" -q ${WARDEN_EXTRA[@]+"${WARDEN_EXTRA[@]}"} "$COPY_ROOT"
[[ "$T_RC" -eq 0 ]] || FAILED=1
HUNT_EVENTS="$(warden_events "$LOGS/warden-hunt.stderr")"
COPY_RECORDS="${PARSE_EVENTS:-${HUNT_EVENTS:-$COPY_RECORDS_PY}}"
record "warden" "$N_RULES_WIN" "${HUNT_EVENTS:-$COPY_RECORDS}" "$COPY_BYTES" \
    "$(count_detections jsonl "$OUT/warden-copies.jsonl")" \
    "${COPIES}x$([[ -n "$HUNT_EVENTS" ]] || echo ', records: parse-only run or python count')"

# ---------------------------------------------------------------------------------------
# (c) warden hunt over the original folder once (for the peer recall).
# ---------------------------------------------------------------------------------------
rm -f "$OUT/warden-original.jsonl"
timed warden-original "$WORK" "$WARDEN_BIN" hunt --rules "$RULES_WIN" --format jsonl \
    --output "$OUT/warden-original.jsonl" -q ${WARDEN_EXTRA[@]+"${WARDEN_EXTRA[@]}"} "$EVTX_DIR"
[[ "$T_RC" -eq 0 ]] || FAILED=1
ORIG_EVENTS="$(warden_events "$LOGS/warden-original.stderr")"
record "warden (original)" "$N_RULES_WIN" "${ORIG_EVENTS:-$PY_RECORDS}" "$INPUT_BYTES" \
    "$(count_detections jsonl "$OUT/warden-original.jsonl")" \
    "1x$([[ -n "$ORIG_EVENTS" ]] || echo ', records: python count')"

# =======================================================================================
# (d) HAYABUSA INVOCATION — the command line is built here, from its --help at run time.
#     v2/v3: hayabusa csv-timeline -d DIR -r RULES -o FILE [-w] [-q] [-C]
#     v1:    hayabusa -d DIR -r RULES -o FILE [-q]
#     It runs from its own folder so that its default ./rules/config and ./config resolve.
# =======================================================================================
run_hayabusa() {
    local bin="$1" input="$2" out="$3" hdir top sub help rules
    local -a args=()
    hdir="$(cd "$(dirname "$bin")" && pwd)"
    top="$("$bin" help 2>&1 </dev/null || true)"
    top+="$("$bin" --help 2>&1 </dev/null || true)"
    if grep -q 'csv-timeline' <<<"$top"; then
        sub=csv-timeline
    elif grep -q 'json-timeline' <<<"$top"; then
        sub=json-timeline
    else
        sub=""
    fi
    if [[ -n "$sub" ]]; then
        help="$("$bin" "$sub" --help 2>&1 </dev/null || true)"
        help+="$("$bin" help "$sub" 2>&1 </dev/null || true)"
        args+=("$sub")
    else
        help="$top"
    fi
    # Same Windows Sigma rules as warden unless HAYABUSA_RULES names another folder (for
    # instance <hayabusa>/rules/sigma, the rules as converted by Hayabusa's own tooling).
    rules="${HAYABUSA_RULES:-$RULES_WIN}"
    HAYABUSA_RULES_USED="$rules"
    # opt NAME: does this version's help list the long option NAME (exactly)?
    opt() { grep -Eq -- "$1([^A-Za-z0-9-]|\$)" <<<"$help"; }
    if opt '--directory'; then args+=(--directory "$input"); else args+=(-d "$input"); fi
    if opt '--rules'; then args+=(--rules "$rules"); else args+=(-r "$rules"); fi
    if opt '--output'; then args+=(--output "$out"); else args+=(-o "$out"); fi
    if opt '--no-wizard'; then args+=(--no-wizard); fi
    if opt '--quiet'; then args+=(--quiet); fi
    if opt '--clobber'; then args+=(--clobber); fi
    if [[ "$sub" == json-timeline ]] && opt '--JSONL'; then args+=(--JSONL); fi
    if opt '--rules-config' && [[ -d "$hdir/rules/config" && ! -d "$rules/config" ]]; then
        args+=(--rules-config "$hdir/rules/config")
    fi
    local -a extra=()
    read -r -a extra <<<"${HAYABUSA_EXTRA_ARGS:-}"
    rm -f "$out"
    timed hayabusa "$hdir" "$bin" "${args[@]}" ${extra[@]+"${extra[@]}"}
    HAYABUSA_KIND=csv
    if [[ "$sub" == json-timeline ]]; then HAYABUSA_KIND=json; fi
    return 0
}

HAYABUSA_BIN="${HAYABUSA:-$(command -v hayabusa 2>/dev/null || true)}"
if [[ -n "$HAYABUSA_BIN" && -x "$HAYABUSA_BIN" ]]; then
    HAYABUSA_OUT="$OUT/hayabusa.csv"
    run_hayabusa "$HAYABUSA_BIN" "$COPY_ROOT" "$HAYABUSA_OUT"
    if [[ "$HAYABUSA_KIND" == json && -f "$HAYABUSA_OUT" ]]; then
        mv -f "$HAYABUSA_OUT" "$OUT/hayabusa.jsonl"
        HAYABUSA_OUT="$OUT/hayabusa.jsonl"
    fi
    N_RULES_HAY="$(find "$HAYABUSA_RULES_USED" -type f \( -name '*.yml' -o -name '*.yaml' \) 2>/dev/null | wc -l | tr -d ' ')"
    record "hayabusa" "$N_RULES_HAY" "$COPY_RECORDS" "$COPY_BYTES" \
        "$(count_detections "$HAYABUSA_KIND" "$HAYABUSA_OUT")" "${COPIES}x, rules: $HAYABUSA_RULES_USED"
else
    log "hayabusa: not found (put it on PATH or set HAYABUSA=/path/to/hayabusa) - skipped"
fi

# =======================================================================================
# (e) CHAINSAW INVOCATION: chainsaw hunt DIR -s RULES --mapping MAPPING --json -o FILE
# =======================================================================================
find_chainsaw_mapping() {
    local bin="$1" d
    if [[ -n "${CHAINSAW_MAPPING:-}" ]]; then
        printf '%s\n' "$CHAINSAW_MAPPING"
        return 0
    fi
    d="$(cd "$(dirname "$bin")" && pwd)"
    for cand in "$d/mappings/sigma-event-logs-all.yml" "$d/../mappings/sigma-event-logs-all.yml" \
                "$d/../share/chainsaw/mappings/sigma-event-logs-all.yml" \
                "$d/chainsaw/mappings/sigma-event-logs-all.yml"; do
        if [[ -f "$cand" ]]; then printf '%s\n' "$cand"; return 0; fi
    done
    return 1
}

run_chainsaw() {
    local bin="$1" input="$2" out="$3" mapping="$4" help
    local -a args=(hunt "$input" -s "$RULES_WIN" --mapping "$mapping" --json)
    help="$("$bin" hunt --help 2>&1 </dev/null || true)"
    if grep -q -- '--output' <<<"$help"; then args+=(--output "$out"); else args+=(-o "$out"); fi
    if grep -Eq -- '--quiet([^A-Za-z0-9-]|$)' <<<"$help"; then args+=(-q); fi
    if grep -q -- '--skip-errors' <<<"$help"; then args+=(--skip-errors); fi
    local -a extra=()
    read -r -a extra <<<"${CHAINSAW_EXTRA_ARGS:-}"
    rm -f "$out"
    timed chainsaw "$WORK" "$bin" "${args[@]}" ${extra[@]+"${extra[@]}"}
    return 0
}

CHAINSAW_BIN="${CHAINSAW:-$(command -v chainsaw 2>/dev/null || true)}"
if [[ -n "$CHAINSAW_BIN" && -x "$CHAINSAW_BIN" ]]; then
    if MAPPING="$(find_chainsaw_mapping "$CHAINSAW_BIN")" && [[ -f "$MAPPING" ]]; then
        run_chainsaw "$CHAINSAW_BIN" "$COPY_ROOT" "$OUT/chainsaw.json" "$MAPPING"
        record "chainsaw" "$N_RULES_WIN" "$COPY_RECORDS" "$COPY_BYTES" \
            "$(count_detections json "$OUT/chainsaw.json")" "${COPIES}x, mapping: $MAPPING"
    else
        log "chainsaw: mapping sigma-event-logs-all.yml not found (set CHAINSAW_MAPPING) - skipped"
    fi
else
    log "chainsaw: not found (put it on PATH or set CHAINSAW=/path/to/chainsaw) - skipped"
fi

# ---------------------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------------------
echo
echo "input: $EVTX_DIR ($INPUT_FILES files, $INPUT_BYTES bytes, $PY_RECORDS EVTX records by python count) x $COPIES copies"
echo "rules: $N_RULES_WIN Windows Sigma rules ($RULES_WIN); logs: $LOGS; outputs: $OUT"
python3 - "$RESULTS" <<'PY'
import sys

rows = []
with open(sys.argv[1], encoding="utf-8") as fh:
    for line in fh:
        f = line.rstrip("\n").split("\t")
        if len(f) < 9:
            continue
        name, rules, records, nbytes, secs, rss_kb, rc, dets, note = f[:9]
        def num(x, kind=float):
            try:
                return kind(x)
            except ValueError:
                return None
        rows.append(dict(name=name, rules=rules, records=num(records, int), bytes=num(nbytes, int),
                         secs=num(secs), rss=num(rss_kb), rc=rc, dets=dets, note=note))

for r in rows:
    ok = r["secs"] and r["secs"] > 0
    r["eps"] = r["records"] / r["secs"] if ok and r["records"] is not None else None
    r["mbps"] = r["bytes"] / 1e6 / r["secs"] if ok and r["bytes"] is not None else None
    r["mib"] = r["rss"] / 1024.0 if r["rss"] else None

def fmt(v, spec):
    return "-" if v is None else format(v, spec)

head = ("tool", "rules", "records", "seconds", "events/s", "MB/s", "peak RSS MiB", "detections", "rc")
table = [head]
for r in rows:
    table.append((r["name"], r["rules"], fmt(r["records"], ",d"), fmt(r["secs"], ".3f"),
                  fmt(r["eps"], ",.0f"), fmt(r["mbps"], ".1f"), fmt(r["mib"], ".1f"),
                  r["dets"] or "-", r["rc"]))
widths = [max(len(str(row[i])) for row in table) for i in range(len(head))]
print()
for n, row in enumerate(table):
    print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                    for i, (c, w) in enumerate(zip(row, widths))))
    if n == 0:
        print("  ".join("-" * w for w in widths))
for r in rows:
    if r["note"]:
        print("  %s: %s" % (r["name"], r["note"]))
print("  (MB = 10^6 bytes of *.evtx/*.json/*.jsonl input; rc != 0 means the run failed)")

by = {r["name"]: r for r in rows}
def ratio(a, b):
    return a / b if a is not None and b else None

print()
w, p = by.get("warden"), by.get("warden --parse-only")
if w and p:
    t = ratio(w["secs"], p["secs"])
    print("warden / parse-only     : time x%s  (rule evaluation adds %s of the parse time)"
          % (fmt(t, ".2f"), "-" if t is None else "%.0f%%" % ((t - 1) * 100)))
for peer in ("hayabusa", "chainsaw"):
    o = by.get(peer)
    if not (w and o):
        print("warden vs %-13s: - (not run)" % peer)
        continue
    s = ratio(w["eps"], o["eps"])
    m = ratio(w["mib"], o["mib"])
    print("warden vs %-13s: events/s x%s (>1: warden faster), peak RSS x%s (<1: warden smaller)"
          % (peer, fmt(s, ".2f"), fmt(m, ".2f")))
PY

# ---------------------------------------------------------------------------------------
# Peer recall on the single-copy run (c).
# ---------------------------------------------------------------------------------------
echo
RECALL_RC=0
if [[ -f "$AGREED" && -s "$OUT/warden-original.jsonl" ]]; then
    RECALL_ARGS=(--detections "$OUT/warden-original.jsonl" --agreed "$AGREED" --root "$EVTX_DIR")
    if [[ -n "$MIN_RECALL" ]]; then RECALL_ARGS+=(--min-recall "$MIN_RECALL"); fi
    python3 "$SCRIPT_DIR/peer_recall.py" "${RECALL_ARGS[@]}" || RECALL_RC=$?
elif [[ ! -f "$AGREED" ]]; then
    log "peer recall: $AGREED not found - skipped"
else
    log "peer recall: $OUT/warden-original.jsonl is missing or empty - skipped"
    if [[ -n "$MIN_RECALL" ]]; then RECALL_RC=1; fi
fi

if [[ "$FAILED" -ne 0 ]]; then
    log "a warden run failed (see $LOGS)"
    exit 1
fi
exit "$RECALL_RC"
