#!/usr/bin/env python3
"""Detection at HIGH against attack strength, on companies Warden was never tuned on.

For each seed (a company drawn by bench/ueba_companies.py) and each strength, generates the
data, runs `warden detect -q --labels … --metrics-out …` over it and sums, per strength over
the seeds: the share of attack scenarios of each kind scored HIGH or above, the share of
normal events at HIGH, and the share of hard-negative scenarios with an event at HIGH.
Prints a Markdown table and writes every run's metrics to <work>/ueba_strength.json.

With --models, each company's users are split as bench/ueba_models.sh splits them (a stable
hash of the user id; --test-share of them are test users): the isolation forest, the boosted
trees and the sequence autoencoder are trained on the others, and detection runs twice over
the whole company — the anomaly layer alone, then with the three models (the default
ensemble) — both counted on the test users' labels only. Two tables are printed.

Usage: bench/ueba_strength.py [--warden PATH] [--work DIR] [--seeds 1,2,3]
           [--strengths 0,0.25,0.5,0.75,1] [--users 300] [--models [--test-share 0.3]]
           [-- extra warden detect flags]
"""
import argparse
import json
import os
import subprocess
import sys

import user_split

KINDS = ["account_takeover", "credential_stuffing", "impossible_travel", "unusual_resources",
         "unusual_time", "unusual_volume"]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), r.stderr))
    return r.stdout


def train_models(warden, events, labels, share, out):
    split = ["--labels", labels, "--test-share", str(share), "--validation-share", "0",
             "--users", "train", "--format", "activity", "--input", events]
    models = []
    for kind, extra in (("iforest", ["--contamination", "0.01"]), ("seqae", []), ("gbdt", [])):
        path = os.path.join(out, kind + ".wmdl")
        run([warden, "train", kind, *split, *extra, "--out", path])
        models += ["--model", path]
    return models


def detect(warden, events, labels, metrics, extra):
    run([warden, "detect", "-q", "--labels", labels, "--metrics-out", metrics, *extra, events])
    with open(metrics) as f:
        return json.load(f)


def table(runs, strengths):
    rows = []
    for s in strengths:
        ms = [r["metrics"] for r in runs if r["strength"] == s]
        cells = []
        for k in KINDS:
            n = sum(m["attacks"].get(k, {}).get("scenarios", 0) for m in ms)
            hit = sum(m["attacks"].get(k, {}).get("alerted_high", 0) for m in ms)
            cells.append("%d/%d" % (hit, n))
        n = sum(m["attacks_total"]["scenarios"] for m in ms)
        hit = sum(m["attacks_total"]["alerted_high"] for m in ms)
        ev = sum(m["normal"]["events"] for m in ms)
        fp = sum(m["normal"]["alerts_high"] for m in ms)
        hn = sum(m["hard_negatives_total"]["scenarios"] for m in ms)
        hn_hit = sum(m["hard_negatives_total"]["alerted_high"] for m in ms)
        rows.append("| %g | %s | **%.1f %%** | %.3f %% | %.1f %% |" % (
            s, " | ".join(cells), 100.0 * hit / max(n, 1), 100.0 * fp / max(ev, 1),
            100.0 * hn_hit / max(hn, 1)))
    head = ("| strength | %s | all attacks | normal events at HIGH | hard negatives at HIGH |"
            % " | ".join(KINDS))
    return "\n".join([head, "|---" * (len(KINDS) + 4) + "|"] + rows)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "..", "target"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warden", default=os.path.join(target, "release", "warden"))
    ap.add_argument("--work", default="/tmp/warden-ueba-strength")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--strengths", default="0,0.25,0.5,0.75,1")
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--models", action="store_true",
                    help="also train the three models per company and compare on test users")
    ap.add_argument("--test-share", type=float, default=0.3)
    ap.add_argument("extra", nargs="*", help="more `warden detect` flags (after --)")
    a = ap.parse_args()
    if not os.path.exists(a.warden):
        sys.exit("no warden binary at %s (cargo build --release -p warden-cli)" % a.warden)
    seeds = [int(x) for x in a.seeds.split(",")]
    strengths = [float(x) for x in a.strengths.split(",")]
    runs, ensemble = [], []
    for seed in seeds:
        for s in strengths:
            out = os.path.join(a.work, "s%d-%g" % (seed, s))
            run([sys.executable, os.path.join(here, "ueba_companies.py"), "--out", out,
                 "--seed", str(seed), "--strength", str(s), "--users", str(a.users)])
            events = os.path.join(out, "events.jsonl.gz")
            labels = os.path.join(out, "labels.jsonl.gz")
            if a.models:
                test = os.path.join(out, "test-labels.jsonl")
                with open(test, "w") as dst:
                    user_split.write_test_labels(labels, a.test_share, dst)
                models = train_models(a.warden, events, labels, a.test_share, out)
                alone = detect(a.warden, events, test, os.path.join(out, "metrics.json"), a.extra)
                both = detect(a.warden, events, test, os.path.join(out, "metrics-models.json"),
                              a.extra + models)
                ensemble.append({"seed": seed, "strength": s, "metrics": both})
            else:
                alone = detect(a.warden, events, labels, os.path.join(out, "metrics.json"), a.extra)
            runs.append({"seed": seed, "strength": s, "metrics": alone})
            print("seed %d strength %g done" % (seed, s), file=sys.stderr)
    if a.models:
        print("Anomaly layer alone (test users):\n")
    print(table(runs, strengths))
    if a.models:
        print("\nWith the forest, the sequence autoencoder and the trees (test users):\n")
        print(table(ensemble, strengths))
    with open(os.path.join(a.work, "ueba_strength.json"), "w") as f:
        json.dump({"anomaly_layer": runs, "ensemble": ensemble}, f, indent=1)


if __name__ == "__main__":
    main()
