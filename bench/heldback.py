#!/usr/bin/env python3
"""Held-back data checked the way the shared data is: one command per data set.

Behavioural detection (--ueba DIR, a folder with events.jsonl.gz and labels.jsonl.gz in the
shared file's format): the forest, the boosted trees and the sequence autoencoder are trained
on every user of the shared file (--shared-ueba) but a validation share, calibrated on those
(`warden train calibrate`), then `warden detect -q --labels … --metrics-out …` runs over the
held-back events twice — the anomaly layer alone and with the three calibrated models — on one
core (`taskset -c 1` where available). Printed per run: attacks at HIGH per kind and in all,
normal events at HIGH, hard negatives at HIGH, and events/s (the run's own summary line).

Command lines (--commands FILE, the corpus's record format): bench/payload_compare.py --test
FILE trains Warden and the scikit-learn baseline on the whole shared corpus and scores FILE
(--no-baseline when scikit-learn is not installed, with a note); then Warden again trained with
--keep-image-paths, reading the program that starts a line as written — the corpus's own style,
which the default gives up so that process-creation telemetry is not judged by it.

Usage: bench/heldback.py [--warden PATH] [--ueba DIR] [--commands FILE]
           [--shared-ueba DIR] [--shared-commands FILE] [--work DIR] [--validation-share 0.15]
"""
import argparse, importlib.util, json, os, re, shutil, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "data")
MODELS = (("iforest", "if"), ("gbdt", "gb"), ("seqae", "seq"))


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return p


def need(path, what):
    if not os.path.exists(path):
        sys.exit(f"no {what} at {path}")
    return path


def one_core():
    return ["taskset", "-c", "1"] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def train_models(warden, shared, work, vshare):
    events, labels = need(os.path.join(shared, "events.jsonl.gz"), "shared UEBA events"), \
        need(os.path.join(shared, "labels.jsonl.gz"), "shared UEBA labels")
    split = ["--labels", labels, "--test-share", "0", "--validation-share", str(vshare)]
    paths = []
    for kind, short in MODELS:
        out = os.path.join(work, f"{short}.wmdl")
        print(f"   training {kind} on the shared file's users", file=sys.stderr)
        run([warden, "train", kind, "--input", events, "--format", "activity", *split, "--users", "train",
             "--out", out] + (["--contamination", "0.01"] if kind == "iforest" else []))
        paths.append(out)
    cal = os.path.join(work, "cal")
    print("   calibrating on the validation users", file=sys.stderr)
    run([warden, "train", "calibrate", *[a for p in paths for a in ("--model", p)], "--input", events, *split,
         "--out-dir", cal])
    return [os.path.join(cal, os.path.basename(p)) for p in paths]


def events_per_second(stderr):
    m = re.findall(r"([\d,]+(?:\.\d+)?) events/s", stderr)
    return m[-1] if m else "-"


def detect(warden, data, metrics, models):
    events = need(os.path.join(data, "events.jsonl.gz"), "held-back UEBA events")
    labels = need(os.path.join(data, "labels.jsonl.gz"), "held-back UEBA labels")
    cmd = one_core() + [warden, "detect", "-q", "--labels", labels, "--metrics-out", metrics,
                        *[a for p in models for a in ("--model", p)], events]
    p = run(cmd)
    with open(metrics) as f:
        return json.load(f), events_per_second(p.stderr)


def ueba_table(runs):
    kinds = sorted({k for _, m, _ in runs for k in m["attacks"]})
    head = ["run"] + kinds + ["all attacks", "normal events at HIGH", "hard negatives at HIGH", "events/s"]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for name, m, eps in runs:
        cells = [name]
        for k in kinds:
            r = m["attacks"].get(k)
            cells.append(f"{r['alerted_high']}/{r['scenarios']}" if r else "-")
        t, n, h = m["attacks_total"], m["normal"], m["hard_negatives_total"]
        cells.append(f"{t['alerted_high']}/{t['scenarios']} ({100 * t['rate_high']:.1f} %)")
        cells.append(f"{n['alerts_high']} of {n['events']} ({100 * n['fpr_high']:.3f} %)")
        cells.append(f"{h['alerted_high']}/{h['scenarios']} ({100 * h['rate_high']:.1f} %)")
        cells.append(eps)
        print("| " + " | ".join(cells) + " |")


def check_ueba(a):
    work = os.path.join(a.work, "ueba")
    os.makedirs(work, exist_ok=True)
    print(f"## Behavioural detection, held-back data {a.ueba}\n", flush=True)
    models = train_models(a.warden, a.shared_ueba, work, a.validation_share)
    runs = []
    for name, ms in (("anomaly layer alone", []), ("with the three models (calibrated)", models)):
        m, eps = detect(a.warden, a.ueba, os.path.join(work, f"metrics-{len(runs)}.json"), ms)
        runs.append((name, m, eps))
    ueba_table(runs)
    print(f"\nMetrics: {work}/metrics-0.json (alone), {work}/metrics-1.json (with the models)\n", flush=True)


def check_commands(a):
    base = [sys.executable, os.path.join(HERE, "payload_compare.py"), "--warden", a.warden,
            "--data", need(a.shared_commands, "shared command corpus"), "--test", need(a.commands, "held-back commands")]
    default = base + ["--work", os.path.join(a.work, "commands")]
    if importlib.util.find_spec("sklearn") is None:
        print("note: scikit-learn is not installed here; the baseline is skipped "
              "(pip install 'scikit-learn==1.5.2' 'numpy<2.1')\n", file=sys.stderr)
        default.append("--no-baseline")
    as_written = base + ["--work", os.path.join(a.work, "commands-as-written"), "--no-baseline",
                         "--train-arg=--keep-image-paths"]
    for title, cmd in (("default model (programs read by name)", default),
                       ("model trained with --keep-image-paths (programs read as written)", as_written)):
        print(f"### Command lines: {title}\n", flush=True)
        rc = subprocess.run(cmd).returncode
        if rc != 0:
            return rc
        print(flush=True)
    return 0


def main():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(HERE, "..", "target"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warden", default=os.path.join(target, "release", "warden"))
    ap.add_argument("--ueba", metavar="DIR", help="held-back UEBA folder (events.jsonl.gz, labels.jsonl.gz)")
    ap.add_argument("--commands", metavar="FILE", help="held-back command corpus (JSON Lines, gzip or plain)")
    ap.add_argument("--shared-ueba", default=os.path.join(SHARED, "ueba"))
    ap.add_argument("--shared-commands", default=os.path.join(SHARED, "commands", "commands.jsonl.gz"))
    ap.add_argument("--work", default="/tmp/warden-heldback")
    ap.add_argument("--validation-share", type=float, default=0.15)
    a = ap.parse_args()
    if not a.ueba and not a.commands:
        ap.error("nothing to check: give --ueba DIR, --commands FILE or both")
    if not os.access(a.warden, os.X_OK):
        sys.exit(f"no warden binary at {a.warden} (cargo build --release -p warden-cli)")
    if a.ueba:
        check_ueba(a)
    return check_commands(a) if a.commands else 0


if __name__ == "__main__":
    sys.exit(main())
