#!/usr/bin/env python3
"""How far a generated company's unusual-volume attacks sit inside its users' normal variation.

For each company directory (written by bench/ueba_companies.py: events.jsonl.gz and
labels.jsonl.gz), every user's downloads are summed per UTC day. A day is measured against the
largest of that user's first 30 days (the month a baseline learns from): the days holding an
`attack:unusual_volume` event give the attack ratios; the later days with no labelled scenario
at all (no attack, no hard negative) give the ordinary ones. Printed: the range of the attack
ratios, and for thresholds at the attacks' 5th, 10th, 25th and 50th percentiles, how many
attack days and how many ordinary user-days pass each — what a detector that flagged a day on
its volume alone would catch and what it would cost.

Standard library only.

Usage: bench/ueba_volume_floor.py COMPANY_DIR [COMPANY_DIR ...]
"""
import collections
import datetime
import gzip
import json
import sys

LEARNING_DAYS = 30


def company_ratios(path):
    """(attack ratios, ordinary ratios) of one company directory."""
    labels = {}
    with gzip.open(f"{path}/labels.jsonl.gz", "rt") as f:
        for raw in f:
            r = json.loads(raw)
            labels[r["event_id"]] = r["label"]
    with gzip.open(f"{path}/events.jsonl.gz", "rt") as f:
        events = [json.loads(raw) for raw in f]
    first = min(datetime.date.fromisoformat(e["timestamp"][:10]) for e in events)
    downloads = collections.defaultdict(float)
    labelled, attacked, users = set(), set(), set()
    for e in events:
        key = (e["user_id"], (datetime.date.fromisoformat(e["timestamp"][:10]) - first).days)
        users.add(e["user_id"])
        if e["activity_type"] == "download":
            downloads[key] += e["data_transferred_gb"]
        label = labels.get(e["event_id"], "normal")
        if label != "normal":
            labelled.add(key)
        if label == "attack:unusual_volume":
            attacked.add(key)
    last = max(d for _, d in downloads) if downloads else 0
    attacks, ordinary = [], []
    for user in users:
        largest = max(downloads.get((user, d), 0.0) for d in range(LEARNING_DAYS)) or 1e-9
        for day in range(LEARNING_DAYS, last + 1):
            key = (user, day)
            if key in attacked:
                attacks.append(downloads.get(key, 0.0) / largest)
            elif key not in labelled and key in downloads:
                ordinary.append(downloads[key] / largest)
    return attacks, ordinary


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    attacks, ordinary = [], []
    for path in sys.argv[1:]:
        a, o = company_ratios(path)
        attacks += a
        ordinary += o
    if not attacks or not ordinary:
        sys.exit("no unusual_volume attack days or no ordinary days in these companies")
    attacks.sort()
    print(f"{len(attacks)} attack days: downloads {attacks[0]:.2f}-{attacks[-1]:.2f}x the user's "
          f"largest day of the first {LEARNING_DAYS} (median {attacks[len(attacks) // 2]:.2f}x); "
          f"{len(ordinary)} ordinary user-days")
    print("| threshold (x largest day) | attack days caught | ordinary user-days flagged |")
    print("|---|---|---|")
    for q in (0.05, 0.10, 0.25, 0.50):
        t = attacks[int(len(attacks) * q)]
        caught = sum(r >= t for r in attacks)
        flagged = sum(r >= t for r in ordinary)
        print(f"| {t:.2f} | {caught} of {len(attacks)} ({100 * caught / len(attacks):.0f} %) "
              f"| {flagged} of {len(ordinary)} ({100 * flagged / len(ordinary):.2f} %) |")


if __name__ == "__main__":
    main()
