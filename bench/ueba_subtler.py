#!/usr/bin/env python3
"""Makes the attacks of a labelled UEBA file subtler, to judge detection on attacks weaker
than the ones it was developed on (the held-back set's attacks are described as subtler:
smaller exfiltration volumes, smaller credential-stuffing bursts, slower travel).

Each attack scenario (label `attack:<kind>`, one user on one UTC day) is weakened by a
factor F in (0, 1]; normal events and hard negatives are copied as they are:

  unusual_volume       every transfer of the scenario × F
  credential_stuffing  the burst keeps max(3, round(n × F)) of its n failures, then the success
  impossible_travel    the far-away events move later, so the implied speed is × F
  unusual_time         the session moves towards the user's usual hours: its distance to
                       them (from the baseline period's hour histogram) becomes
                       max(1.5 h, distance × F)
  unusual_resources    keeps the first max(1, round(n × F)) of its n events
  account_takeover     the sign-in and max(1, round(n × F)) of its n downloads

The labels name each planted instance (`scenario`: kind-user-day), so a scenario moved
across midnight stays one scenario. Output: DIR/events.jsonl.gz, DIR/labels.jsonl.gz,
sorted by time.

Usage: bench/ueba_subtler.py --input ../shared/data/ueba --out DIR --factor 0.5
"""
import argparse
import collections
import datetime as dt
import gzip
import json
import math
import os


def parse_ts(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def fmt_ts(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read(path):
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f if line.strip()]


def usual_hours(events, labels, baseline_end):
    """Per user, the UTC hours holding at least 2 % of their baseline-period activity."""
    hist = collections.defaultdict(lambda: [0] * 24)
    for e in events:
        t = parse_ts(e["timestamp"])
        if t < baseline_end and labels[e["event_id"]]["label"] == "normal":
            hist[e["user_id"]][t.hour] += 1
    out = {}
    for user, h in hist.items():
        total = sum(h) or 1
        out[user] = [k for k in range(24) if h[k] / total >= 0.02]
    return out


def circular(a, b):
    d = abs(a - b) % 24
    return min(d, 24 - d)


def nearest_usual(hour, usual):
    """(distance in hours, signed shift towards the nearest usual hour)."""
    best = None
    for u in usual:
        d = circular(hour, u)
        if best is None or d < best[0]:
            forward = (u - hour) % 24
            best = (d, forward if forward <= 12 else forward - 24)
    return best or (0.0, 0.0)


def weaken_time(evs, usual, f):
    if not usual:
        return evs
    first = parse_ts(evs[0]["timestamp"])
    hour = first.hour + first.minute / 60
    dist, towards = nearest_usual(hour, usual)
    target = max(1.5, dist * f)
    if dist <= target:
        return evs
    move = (dist - target) * (1 if towards > 0 else -1)
    for e in evs:
        e["timestamp"] = fmt_ts(parse_ts(e["timestamp"]) + dt.timedelta(hours=move))
    return evs


def weaken_travel(evs, before, f):
    """Delays the scenario's events so that the speed from the user's previous place is × F."""
    if before is None:
        return evs
    first = parse_ts(evs[0]["timestamp"])
    gap = (first - parse_ts(before["timestamp"])).total_seconds()
    delay = dt.timedelta(seconds=max(gap, 60) * (1 / f - 1))
    for e in evs:
        e["timestamp"] = fmt_ts(parse_ts(e["timestamp"]) + delay)
    return evs


def keep(n, f, least):
    return max(least, int(round(n * f)))


def weaken(kind, evs, f, usual, before):
    if kind == "unusual_volume":
        for e in evs:
            e["data_transferred_gb"] = e.get("data_transferred_gb", 0.0) * f
        return evs
    if kind == "credential_stuffing":
        fails = [e for e in evs if not e.get("success", True)]
        rest = [e for e in evs if e.get("success", True)]
        return fails[: keep(len(fails), f, 3)] + rest
    if kind == "impossible_travel":
        return weaken_travel(evs, before, f)
    if kind == "unusual_time":
        return weaken_time(evs, usual, f)
    if kind == "unusual_resources":
        return evs[: keep(len(evs), f, 1)]
    if kind == "account_takeover":
        downloads = [e for e in evs if e.get("activity_type") == "download"]
        rest = [e for e in evs if e.get("activity_type") != "download"]
        return rest + downloads[: keep(len(downloads), f, 1)]
    return evs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", required=True, help="folder with events.jsonl.gz, labels.jsonl.gz, meta.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--factor", type=float, default=0.5)
    a = ap.parse_args()
    if not 0.0 < a.factor <= 1.0:
        ap.error("--factor is in (0, 1]")
    events = read(os.path.join(a.input, "events.jsonl.gz"))
    labels = {r["event_id"]: r for r in read(os.path.join(a.input, "labels.jsonl.gz"))}
    with open(os.path.join(a.input, "meta.json")) as f:
        meta = json.load(f)
    end = meta.get("baseline_end") or meta.get("baseline_end_date") or "2026-04-01"
    baseline_end = parse_ts(end if "T" in end else end + "T00:00:00Z")
    usual = usual_hours(events, labels, baseline_end)

    # Group each label's events into instances: kind, user, UTC day.
    groups = collections.defaultdict(list)
    last_before = {}
    previous = {}
    for e in events:
        lab = labels[e["event_id"]]
        kind = lab["label"]
        if kind == "normal":
            previous[e["user_id"]] = e
            continue
        key = (kind, e["user_id"], e["timestamp"][:10])
        if key not in groups:
            last_before[key] = previous.get(e["user_id"])
        groups[key].append(e)
        previous[e["user_id"]] = e

    out_events = [e for e in events if labels[e["event_id"]]["label"] == "normal"]
    out_labels = [labels[e["event_id"]] for e in out_events]
    counts = collections.Counter()
    for (label, user, day), evs in groups.items():
        scenario = "%s-%s-%s" % (label.split(":", 1)[1], user, day)
        if label.startswith("attack:"):
            before = len(evs)
            evs = weaken(label.split(":", 1)[1], [dict(e) for e in evs], a.factor,
                         usual.get(user, []), last_before[(label, user, day)])
            counts[label] += before - len(evs)
        for e in evs:
            out_events.append(e)
            out_labels.append({"event_id": e["event_id"], "user_id": user, "label": label,
                               "scenario": scenario})
    order = sorted(range(len(out_events)), key=lambda i: out_events[i]["timestamp"])
    os.makedirs(a.out, exist_ok=True)
    with gzip.open(os.path.join(a.out, "events.jsonl.gz"), "wt") as f:
        for i in order:
            f.write(json.dumps(out_events[i]) + "\n")
    with gzip.open(os.path.join(a.out, "labels.jsonl.gz"), "wt") as f:
        for i in order:
            f.write(json.dumps(out_labels[i]) + "\n")
    removed = sum(counts.values())
    print("%d events (%d attack events removed), %d scenarios, factor %g -> %s"
          % (len(out_events), removed, len(groups), a.factor, a.out))


if __name__ == "__main__":
    main()
