#!/usr/bin/env python3
"""The user split `warden train … --test-share S --users test|train` makes: a user is a test
user when splitmix64(FNV-1a(user id)) / 2^64 < S. Benchmarks use it to count detection on the
users the models never saw.

Usage: bench/user_split.py LABELS.jsonl.gz SHARE > test-labels.jsonl
"""
import gzip
import json
import sys

M64 = (1 << 64) - 1


def fnv(text):
    h = 0xcbf29ce484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001b3) & M64
    return h


def splitmix(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def is_test_user(user_id, share):
    return (splitmix(fnv(user_id)) >> 11) / float(1 << 53) < share


def write_test_labels(labels, share, out):
    """The lines of `labels` (gzip JSON Lines) that belong to test users, written to `out`."""
    with gzip.open(labels, "rt") as src:
        for line in src:
            if is_test_user(json.loads(line)["user_id"], share):
                out.write(line)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    write_test_labels(sys.argv[1], float(sys.argv[2]), sys.stdout)
