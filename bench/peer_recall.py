#!/usr/bin/env python3
"""Recall of `warden hunt` detections against the detections two peer tools agree on.

Reads a `warden hunt --format jsonl` output file and the peer file
(`agreed-visible.jsonl.gz`: one JSON object per line with `file` relative to the
EVTX root, `record_id`, `rule_id`, `rule_title_lower`), and reports how many of the
agreed (file, record_id, rule_id) triples warden also reports.

The `file` of a warden detection is the path as found while walking the PATH given
to `warden hunt`: absolute, relative to the working directory of that run, or inside a
benchmark copy directory (`.../copy_<n>/<tactic>/<file>.evtx`). It is normalised to a
path relative to --root; detections in copies other than `copy_0` are ignored so that
a run over N copies counts each original file once.

Exit status: 0, unless --min-recall is given and recall is below it (1), or an input
file cannot be read (2).

Usage:
  python3 bench/peer_recall.py --detections OUT.jsonl \
      --agreed ../shared/data/peer-detections/agreed-visible.jsonl.gz \
      --root ../shared/data/evtx-attack-samples [--min-recall 95] [--json]
"""

import argparse
import collections
import gzip
import json
import os
import re
import sys

COPY_RE = re.compile(r"^copy_(\d+)$")


def open_text(path):
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, "r", encoding="utf-8", errors="replace")


def iter_jsonl(path, stats=None):
    with open_text(path) as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                if stats is not None:
                    stats["bad_lines"] += 1
                continue
            if isinstance(obj, dict):
                yield obj
            elif stats is not None:
                stats["bad_lines"] += 1


def norm_record_id(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    try:
        return int(text.replace(",", ""))
    except ValueError:
        return text


def norm_rule_id(value):
    if value is None:
        return None
    return str(value).strip().lower()


def split_parts(path):
    """Path components, with either separator, without '.' and empty parts."""
    path = str(path).replace("\\", "/")
    return [p for p in path.split("/") if p not in ("", ".")]


class FileNormaliser:
    """Maps a detection's `file` to (path relative to root, copy index or None)."""

    def __init__(self, root, agreed_files):
        self.root = os.path.realpath(root) if root else None
        self.known = set(agreed_files)
        if self.root and os.path.isdir(self.root):
            for dirpath, _dirs, files in os.walk(self.root):
                for name in files:
                    rel = os.path.relpath(os.path.join(dirpath, name), self.root)
                    self.known.add("/".join(split_parts(rel)))
        self.cache = {}

    def _direct(self, raw):
        """The path itself, resolved, when it lies inside root (original run)."""
        if not self.root:
            return None
        path = raw if os.path.isabs(raw) else os.path.join(os.getcwd(), raw)
        try:
            real = os.path.realpath(path)
        except (OSError, ValueError):
            return None
        if real == self.root or not real.startswith(self.root + os.sep):
            return None
        rel = "/".join(split_parts(os.path.relpath(real, self.root)))
        return rel if rel in self.known else None

    def normalise(self, raw):
        if raw in self.cache:
            return self.cache[raw]
        parts = split_parts(raw)
        # Resolve '..' lexically so that suffix matching below sees clean parts.
        clean = []
        for p in parts:
            if p == "..":
                if clean and clean[-1] != "..":
                    clean.pop()
                else:
                    clean.append(p)
            else:
                clean.append(p)
        result = (None, None)
        # Longest suffix of the path that names a known file under root; a `copy_<n>`
        # component right before it says which copy it came from.
        for i in range(len(clean)):
            suffix = "/".join(clean[i:])
            if suffix in self.known:
                copy = None
                if i > 0:
                    m = COPY_RE.match(clean[i - 1])
                    if m:
                        copy = int(m.group(1))
                result = (suffix, copy)
                break
        if result[0] is None:
            direct = self._direct(str(raw))
            if direct is not None:
                result = (direct, None)
        if result[0] is None and clean:
            # Unknown file (not under root): keep a copy-stripped form for reporting.
            idx = None
            for i, p in enumerate(clean):
                if COPY_RE.match(p):
                    idx = i
            if idx is not None and idx + 1 < len(clean):
                copy = int(COPY_RE.match(clean[idx]).group(1))
                result = (None, copy)
        self.cache[raw] = result
        return result


def parse_min_recall(text):
    text = str(text).strip().rstrip("%")
    value = float(text)
    if 0 < value <= 1.0:
        value *= 100.0  # a fraction such as 0.95
    return value


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Recall of warden hunt detections against peer-agreed detections.")
    ap.add_argument("--detections", required=True,
                    help="warden hunt --format jsonl output (may be .gz)")
    ap.add_argument("--agreed", required=True,
                    help="agreed-visible.jsonl.gz (file, record_id, rule_id, rule_title_lower)")
    ap.add_argument("--root", required=True,
                    help="EVTX folder the agreed `file` paths are relative to")
    ap.add_argument("--min-recall", type=parse_min_recall, default=None, metavar="PCT",
                    help="exit 1 when recall %% is below PCT (e.g. 95; 0.95 also reads as 95%%)")
    ap.add_argument("--max-missing", type=int, default=30, metavar="N",
                    help="missing pairs to list (default 30)")
    ap.add_argument("--json", action="store_true",
                    help="print a machine-readable JSON summary instead of text")
    args = ap.parse_args(argv)

    # Peer-agreed detections.
    agreed = {}
    titles = {}
    try:
        for obj in iter_jsonl(args.agreed):
            f = "/".join(split_parts(obj.get("file", "")))
            key = (f, norm_record_id(obj.get("record_id")), norm_rule_id(obj.get("rule_id")))
            agreed[key] = obj
            titles.setdefault(key[2], obj.get("rule_title_lower") or "")
    except OSError as exc:
        print("peer_recall: cannot read --agreed: %s" % exc, file=sys.stderr)
        return 2

    norm = FileNormaliser(args.root, {k[0] for k in agreed})

    stats = collections.Counter()
    found_set = set()
    copies_seen = collections.Counter()
    unknown_files = collections.Counter()
    warden_titles = {}
    try:
        for obj in iter_jsonl(args.detections, stats):
            stats["lines"] += 1
            raw = obj.get("file")
            if raw is None:
                stats["no_file"] += 1
                continue
            rel, copy = norm.normalise(str(raw))
            copies_seen["original" if copy is None else "copy_%d" % copy] += 1
            if copy not in (None, 0):
                stats["other_copies"] += 1
                continue
            if rel is None:
                stats["unknown_file"] += 1
                unknown_files[str(raw)] += 1
                continue
            rule = norm_rule_id(obj.get("rule_id"))
            key = (rel, norm_record_id(obj.get("record_id")), rule)
            found_set.add(key)
            if rule and rule not in warden_titles and obj.get("rule_title"):
                warden_titles[rule] = str(obj.get("rule_title"))
    except OSError as exc:
        print("peer_recall: cannot read --detections: %s" % exc, file=sys.stderr)
        return 2

    total = len(agreed)
    hit = [k for k in agreed if k in found_set]
    missing = sorted(k for k in agreed if k not in found_set)
    extra = len(found_set) - len(hit)
    recall = 100.0 * len(hit) / total if total else 0.0

    by_rule = collections.defaultdict(list)
    for k in missing:
        by_rule[k[2]].append(k)
    groups = sorted(by_rule.items(), key=lambda kv: (-len(kv[1]), titles.get(kv[0], ""), kv[0]))

    # Up to --max-missing pairs, taken rule group by rule group (largest first).
    shown = []
    budget = max(args.max_missing, 0)
    for rule, keys in groups:
        if budget <= 0:
            break
        take = keys[:budget]
        budget -= len(take)
        shown.append((rule, keys, take))

    ok = args.min_recall is None or recall >= args.min_recall

    if args.json:
        summary = {
            "agreed_total": total,
            "found": len(hit),
            "missing": len(missing),
            "recall_pct": round(recall, 3),
            "min_recall_pct": args.min_recall,
            "passed": ok,
            "detections_lines": stats["lines"],
            "bad_lines": stats["bad_lines"],
            "distinct_detections_counted": len(found_set),
            "not_in_agreed": extra,
            "ignored_other_copies": stats["other_copies"],
            "ignored_unknown_file": stats["unknown_file"],
            "ignored_no_file": stats["no_file"],
            "copies_seen": dict(sorted(copies_seen.items())),
            "missing_rules": len(by_rule),
            "missing_by_rule": [
                {
                    "rule_id": rule,
                    "rule_title_lower": titles.get(rule, ""),
                    "count": len(keys),
                    "pairs": [{"file": f, "record_id": r} for (f, r, _) in keys],
                }
                for rule, keys in groups
            ],
            "unknown_files_sample": [p for p, _ in unknown_files.most_common(10)],
        }
        json.dump(summary, sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write("\n")
    else:
        print("peer recall (%s)" % os.path.basename(args.agreed))
        print("  agreed total : %d" % total)
        print("  found        : %d" % len(hit))
        print("  recall       : %.2f%%" % recall)
        print("  detections   : %d lines, %d distinct (file, record_id, rule_id) counted,"
              " %d not in the agreed set" % (stats["lines"], len(found_set), extra))
        ignored = []
        if stats["other_copies"]:
            ignored.append("%d in copies other than copy_0" % stats["other_copies"])
        if stats["unknown_file"]:
            ignored.append("%d with a file not under --root" % stats["unknown_file"])
        if stats["no_file"]:
            ignored.append("%d without `file`" % stats["no_file"])
        if stats["bad_lines"]:
            ignored.append("%d unreadable lines" % stats["bad_lines"])
        if ignored:
            print("  ignored      : " + ", ".join(ignored))
        if unknown_files:
            print("  e.g. unknown file: %s" % next(iter(unknown_files.most_common(1)))[0])
        if missing:
            print("missing: %d pairs over %d rules (showing up to %d pairs)"
                  % (len(missing), len(by_rule), args.max_missing))
            for rule, keys, take in shown:
                print("  %s  %s  (%d missing)" % (rule, titles.get(rule, ""), len(keys)))
                for f, r, _ in take:
                    print("      %s  record %s" % (f, r))
            rest = len(groups) - len(shown)
            if rest > 0:
                print("  ... %d more rules with missing pairs" % rest)
        if args.min_recall is not None:
            print("min recall %.2f%%: %s" % (args.min_recall, "ok" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # output piped into `head` and the like
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        sys.exit(0)
