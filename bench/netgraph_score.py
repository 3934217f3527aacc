#!/usr/bin/env python3
"""Score entity-graph hunt findings against the labelled netgraph dataset.

Reads the findings of a graph hunt (JSON Lines, one alert per line) and the labels of
`shared/data/netgraph/` (`labels.jsonl.gz`, `meta.json`), and reports, as the dataset's
README describes:

- attack scenarios detected at MEDIUM and at HIGH, per kind and overall: a scenario is
  detected at level L when a finding at L or above cites one of its events;
- false findings (findings citing no attack event) per day inside the scored window
  (default: meta.json's `baseline_end` to start + days), at >= MEDIUM and >= HIGH, by finder;
- hard-negative scenarios flagged at MEDIUM and at HIGH: a false finding at L or above
  cites one of their events (false findings outside the window count here too);
- findings per level, findings citing no labelled event, and attack scenarios missed at HIGH.

A finding cites events through `evidence[].reference` objects with `"ref": "record"`
(`computer`, `record_id`); other reference kinds are ignored. Computers are compared
case-insensitively by short name ("SRV-FS00" matches "srv-fs00.corp.local"); a record
reference without a computer is matched on `record_id` alone (unique in the dataset).

Example:
  warden graph hunt ../shared/data/netgraph/events.jsonl.gz --format jsonl > /tmp/findings.jsonl \\
    && python3 bench/netgraph_score.py /tmp/findings.jsonl

Options: --data DIR, --json (print only one JSON object), --since/--until RFC 3339,
--min-high-rate PERCENT (overall attack detection at HIGH, 0-100),
--max-fp-per-day FLOAT (false findings per day at >= HIGH), --require-data.

Exit status: 0; 1 when a gate is given and not met; 2 when the findings cannot be read,
or the data is missing and --require-data is given (without it: "skipped", exit 0).
"""

import argparse
import collections
import gzip
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

LEVELS = ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
RANK = {name: i for i, name in enumerate(LEVELS)}
SCORED = ("MEDIUM", "HIGH")
DEFAULT_DATA = Path(__file__).resolve().parent.parent / ".." / "shared" / "data" / "netgraph"


def parse_time(text):
    """RFC 3339 -> aware datetime (naive values are taken as UTC); None if unparsable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        t = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def short(computer):
    return str(computer).split(".", 1)[0].strip().lower()


def load_labels(path):
    """(short computer, record_id) -> (label, scenario), and record_id -> same."""
    by_pair, by_id = {}, {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                value = (row["label"], row.get("scenario") or "")
                by_pair[(short(row["computer"]), int(row["record_id"]))] = value
                by_id[int(row["record_id"])] = value
    return by_pair, by_id


def read_findings(path):
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")
    findings, bad = [], 0
    with stream:
        for line in stream:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            if isinstance(obj, dict):
                findings.append(obj)
            else:
                bad += 1
    if bad:
        print(f"netgraph_score: ignored {bad} line(s) that are not JSON objects", file=sys.stderr)
    return findings


def cited(finding, by_pair, by_id):
    """The labels (label, scenario) of the labelled events a finding cites."""
    out = set()
    for ev in finding.get("evidence") or []:
        ref = ev.get("reference") if isinstance(ev, dict) else None
        if not isinstance(ref, dict) or ref.get("ref") != "record":
            continue
        try:
            rid = int(ref.get("record_id"))
        except (TypeError, ValueError):
            continue
        comp = ref.get("computer")
        hit = by_pair.get((short(comp), rid)) if comp else by_id.get(rid)
        if hit:
            out.add(hit)
    return out


def rate(n, total):
    return round(100.0 * n / total, 1) if total else 0.0


def score(findings, by_pair, by_id, scenarios, since, until):
    kind_of = {s["scenario"]: s["kind"] for s in scenarios}
    level_counts = collections.Counter()
    detected = {lvl: set() for lvl in SCORED}
    flagged = {lvl: set() for lvl in SCORED}
    fp = {lvl: 0 for lvl in SCORED}
    fp_by_finder = {lvl: collections.Counter() for lvl in SCORED}
    unknown = 0
    for f in findings:
        level = str(f.get("level", "")).upper()
        level_counts[level if level in RANK else "other"] += 1
        rank = RANK.get(level, -1)
        labels = cited(f, by_pair, by_id)
        if not labels:
            unknown += 1
        attacks = {sc for lab, sc in labels if lab.startswith("attack:")}
        for lab, sc in labels:
            if sc and lab != "normal":
                kind_of.setdefault(sc, lab)
        t = parse_time(f.get("timestamp"))
        in_window = t is None or since <= t < until
        finder = str((f.get("detector") or {}).get("id", "?"))
        for lvl in SCORED:
            if rank < RANK[lvl]:
                continue
            if attacks:
                detected[lvl] |= attacks
                continue
            flagged[lvl] |= {sc for lab, sc in labels if lab.startswith("benign:")}
            if in_window:
                fp[lvl] += 1
                fp_by_finder[lvl][finder] += 1

    def table(prefix, hits):
        names = collections.defaultdict(list)
        for sc, kind in kind_of.items():
            if kind.startswith(prefix):
                names[kind[len(prefix):]].append(sc)
        rows = {}
        for kind in list(names) + ["all"]:
            members = [s for n in names.values() for s in n] if kind == "all" else names[kind]
            rows[kind] = {
                lvl: {"hit": sum(s in hits[lvl] for s in members), "total": len(members),
                      "percent": rate(sum(s in hits[lvl] for s in members), len(members))}
                for lvl in SCORED}
        return rows, names

    attack_rows, attack_names = table("attack:", detected)
    benign_rows, _ = table("benign:", flagged)
    days = (until - since).total_seconds() / 86400.0
    missed = sorted(s for n in attack_names.values() for s in n if s not in detected["HIGH"])
    return {
        "findings": len(findings),
        "findings_per_level": dict(level_counts),
        "findings_citing_no_labelled_event": unknown,
        "attack_scenarios": attack_rows,
        "hard_negatives_flagged": benign_rows,
        "window": {"since": since.isoformat(), "until": until.isoformat(), "days": round(days, 3)},
        "false_findings": {
            lvl: {"count": fp[lvl], "per_day": round(fp[lvl] / days, 3) if days > 0 else None,
                  "by_finder": dict(fp_by_finder[lvl].most_common())}
            for lvl in SCORED},
        "missed_at_high": missed,
    }


def print_text(r):
    def cell(c):
        return f"{c['hit']}/{c['total']} {c['percent']:.1f}%"

    for title, rows in (("attack scenarios", r["attack_scenarios"]),
                        ("hard negatives (flagged)", r["hard_negatives_flagged"])):
        print(f"{title:<27}{'MEDIUM':<16}HIGH")
        for kind, c in rows.items():
            print(f"  {kind:<25}{cell(c['MEDIUM']):<16}{cell(c['HIGH'])}")
    ff, w = r["false_findings"], r["window"]
    med, high = ff["MEDIUM"], ff["HIGH"]
    per = {lvl: "n/a" if ff[lvl]["per_day"] is None else f"{ff[lvl]['per_day']:.2f}" for lvl in SCORED}
    print(f"{'false findings per day':<27}MEDIUM {per['MEDIUM']} ({med['count']} in {w['days']:.1f} days)"
          f"   HIGH {per['HIGH']} ({high['count']})")
    print(f"  window: {w['since']} .. {w['until']}")
    for lvl in SCORED:
        finders = ", ".join(f"{k} {v}" for k, v in ff[lvl]["by_finder"].items()) or "none"
        print(f"  by finder at {lvl}: {finders}")
    levels = ", ".join(f"{lvl} {r['findings_per_level'].get(lvl, 0)}" for lvl in LEVELS + ["other"]
                       if lvl != "other" or r["findings_per_level"].get("other"))
    print(f"findings: {r['findings']} ({levels}); citing no labelled event: "
          f"{r['findings_citing_no_labelled_event']}")
    print(f"missed at HIGH: {', '.join(r['missed_at_high']) or 'none'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("findings", help="findings JSON Lines file, or - for stdin")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="netgraph dataset directory")
    ap.add_argument("--json", action="store_true", help="print only the result as one JSON object")
    ap.add_argument("--since", help="start of the false-finding window (default: meta baseline_end)")
    ap.add_argument("--until", help="end of the false-finding window (default: meta start + days)")
    ap.add_argument("--min-high-rate", type=float, help="fail if overall detection at HIGH is below this percent")
    ap.add_argument("--max-fp-per-day", type=float, help="fail if false findings per day at >= HIGH exceed this")
    ap.add_argument("--require-data", action="store_true", help="exit 2 instead of skipping when data is missing")
    args = ap.parse_args()

    labels_path, meta_path = args.data / "labels.jsonl.gz", args.data / "meta.json"
    if not labels_path.is_file() or not meta_path.is_file():
        print(f"netgraph_score: skipped: no labels.jsonl.gz/meta.json in {args.data}", file=sys.stderr)
        if args.json:
            print(json.dumps({"skipped": True, "data": str(args.data)}))
        return 2 if args.require_data else 0

    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    since = parse_time(args.since or meta.get("baseline_end"))
    until = parse_time(args.until) if args.until else None
    if until is None and not args.until and meta.get("start"):
        until = parse_time(meta["start"]) + timedelta(days=float(meta.get("days", 0)))
    if since is None or until is None:
        print("netgraph_score: cannot determine the window; give --since and --until", file=sys.stderr)
        return 2
    try:
        findings = read_findings(args.findings)
    except OSError as e:
        print(f"netgraph_score: cannot read findings: {e}", file=sys.stderr)
        return 2
    by_pair, by_id = load_labels(labels_path)
    result = score(findings, by_pair, by_id, meta.get("scenarios", []), since, until)

    failed = []
    high = result["attack_scenarios"]["all"]["HIGH"]["percent"]
    if args.min_high_rate is not None and high < args.min_high_rate:
        failed.append(f"attack detection at HIGH {high:.1f}% < {args.min_high_rate}%")
    fp_day = result["false_findings"]["HIGH"]["per_day"]
    if args.max_fp_per_day is not None and fp_day is not None and fp_day > args.max_fp_per_day:
        failed.append(f"false findings per day at HIGH {fp_day:.2f} > {args.max_fp_per_day}")
    result["gates_failed"] = failed

    if args.json:
        print(json.dumps(result, indent=None, sort_keys=False))
    else:
        print_text(result)
    for msg in failed:
        print(f"FAILED: {msg}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
