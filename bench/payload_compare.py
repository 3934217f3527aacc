#!/usr/bin/env python3
"""Payload analyser: Warden against a character n-gram baseline on the same grouped split.

The command corpus (shared/data/commands, JSON Lines, gzip) is split into train and test by group,
following the corpus README's own grouping rules: the source file; tldr: the page name across
platforms (pages/*/tar.md is one group); nl2bash: the command skeleton (utility names and flags,
arguments dropped); reverse-shell-generator: the leading binary (basename, lower case, .exe and
the like stripped). A group goes to train when int(sha256("<seed>:<group>")[:8], 16) % 100 is
below --train-pct (70), so sample shares are only roughly 70/30 and no group is on both sides.
train.jsonl and test.jsonl are written to --work.

Baseline (scikit-learn): TfidfVectorizer(analyzer='char', ngram_range=(2, 5), lowercase,
sublinear_tf, min_df=2) and LogisticRegression(solver='liblinear', C=10,
class_weight='balanced', max_iter=2000), scored with decision_function. Fit time covers the
vectoriser and the model; score time covers transform and decision_function.
Warden: `warden train payload --input train.jsonl --out payload.wpld --seed N`, then
`warden analyze --jsonl test.jsonl --model payload.wpld`; the score is the `score` field and the
times are the wall-clock times of the two processes (start-up and I/O included).

Figures for both, overall and per shell (sh, bash, cmd, powershell, where both labels occur):
ROC AUC (Mann-Whitney, tied scores take their average rank), and TPR at 1 % and at 0.1 % FPR,
where the threshold is the smallest score whose FPR (share of benign scoring at or above it)
stays within the target and a threshold admits every sample scoring at or above it; a tie that
would cross the target is not split.
--mask scores the test texts again with the corpus's placeholder artifacts (README caveats:
C:\\Windows\\Temp\\file, AtomicRedTeam, atomic, ExternalPayloads, attacker.com, 10.10.10.10,
calc.exe, example.org, example.com, path/to, path\\to; any case) replaced by neutral strings that
occur nowhere in the corpus; the models are not retrained.
ATT&CK share: among malicious test records with a `technique`, the share whose parent technique
(T1218 of T1218.011) is among the parents of Warden's patterns' `attack` ids.
--obfuscated FILE (bench/payload_obfuscate.py output): Warden analyses the variants and their
originals; per technique, the share whose last layer equals the original (whitespace runs
collapsed, trimmed, lower case), the number where any layer does, and where the last layer equals
the original's own last layer (an original that is itself encoded, such as a `powershell -e`
reverse shell, decodes further than its text), and the variants whose score is below the
original's minus 0.5, or whose level is below the original's.

Prints Markdown tables and writes everything as JSON to <work>/payload_compare.json.

Requires: pip install 'scikit-learn==1.5.2' 'numpy<2.1' (the baseline only; the metrics are
computed here without them). Warden: cargo build --release -p warden-cli.
--rules PATH (repeatable) gives warden analyze Sigma rules for its process-creation view.
--train-arg ARG (repeatable) is passed on to `warden train payload` (`--train-arg=--keep-image-paths`).
--test FILE replaces the split: both tools train on every record of --data and score FILE, a
corpus of the same format kept apart from it (the held-back part, which is split from the shared
part by source file). Records of FILE whose text (id) or source file also occurs in --data are
counted and reported, since they would not be held-back data.

Usage: bench/payload_compare.py [--warden PATH] [--data FILE|DIR] [--work DIR] [--seed N]
           [--train-pct 70 | --test FILE] [--no-baseline | --baseline-only] [--mask]
           [--obfuscated FILE]
"""
import argparse, gzip, hashlib, json, os, re, shlex, subprocess, sys, time
from collections import Counter, OrderedDict

SHELLS = ("sh", "bash", "cmd", "powershell")
LEVELS = ["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
FPR_TARGETS = (0.01, 0.001)
MASKS = [  # (pattern, neutral replacement); applied in this order, case-insensitive
    (r"C:\\Windows\\Temp\\file", r"C:\\Data\\item"),
    (r"AtomicRedTeam", "Kitbox"),
    (r"atomic", "kitbox"),
    (r"ExternalPayloads", "Vendorfiles"),
    (r"attacker\.com", "host.internal"),
    (r"10\.10\.10\.10", "172.16.5.20"),
    (r"calc\.exe", "prog1.exe"),
    (r"example\.org", "host.internal"),
    (r"example\.com", "host.internal"),
    (r"path/to", "data/dir"),
    (r"path\\to", r"data\\dir"),
]
WRAPPERS = {"sudo", "doas", "env", "nohup", "time", "exec"}
OPERATORS = {"|", "||", "&&", ";", "&", "(", ")", "|&", ";;"}


# ---------------------------------------------------------------- input and split

def read_jsonl(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def leading_binary(text):
    """First word of the first line after VAR=value and sudo/doas/env/nohup/time/exec (and their
    flags): basename, lower case, the usual Windows extensions stripped."""
    words = text.split("\n")[0].split()
    i = 0
    while i < len(words):
        w = words[i]
        if re.match(r"[A-Za-z_][A-Za-z0-9_]*=", w):
            i += 1
        elif w.lower() in WRAPPERS:
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 1
        else:
            break
    if i >= len(words):
        return ""
    w = re.split(r"[;|&(]", words[i])[0] or words[i]
    b = re.split(r"[\\/]", w.strip("'\""))[-1].lower()
    return re.sub(r"\.(exe|com|bat|cmd|ps1|vbs|dll|js|wsf|msc|cpl)$", "", b)


def skeleton(text):
    """nl2bash grouping: utility names, flags (value after = dropped) and pipeline operators."""
    try:
        lex = shlex.shlex(text, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        toks = list(lex)
    except ValueError:
        toks = text.split()
    out, want_cmd = [], True
    for t in toks:
        if t in OPERATORS:
            out.append(t)
            want_cmd = True
        elif t and set(t) <= set("<>&|;()"):
            continue  # redirection: its target is an argument
        elif want_cmd:
            if re.match(r"[A-Za-z_][A-Za-z0-9_]*=", t):
                continue
            out.append(t.rsplit("/", 1)[-1])
            want_cmd = t in WRAPPERS or t == "xargs"
        elif t.startswith("-") and len(t) > 1:
            out.append(t.split("=", 1)[0])
    return " ".join(out)


def group_of(r):
    src = r.get("source") or ""
    repo, _, path = src.partition(":")
    if repo == "tldr-pages/tldr":
        return "tldr:" + os.path.basename(path)
    if repo == "TellinaTool/nl2bash":
        return "nl2bash:" + skeleton(r["text"])
    if repo == "0dayCTF/reverse-shell-generator":
        return "revshells:" + leading_binary(r["text"])
    return src


def bucket(seed, group):
    return int(hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()[:8], 16) % 100


def split(rows, seed, pct):
    train, test, groups = [], [], {}
    for r in rows:
        g = group_of(r)
        side = groups.setdefault(g, bucket(seed, g) < pct)
        (train if side else test).append(r)
    return train, test, groups


def held_back(rows, test_path):
    """Every record of rows to train, test_path's records to test; overlaps counted, not dropped."""
    test = read_jsonl(test_path)
    for n, r in enumerate(test, 1):
        for field in ("text", "label"):
            if not isinstance(r.get(field), str):
                sys.exit(f"{test_path}: record {n}: no string field '{field}'")
        if r["label"] not in ("malicious", "benign"):
            sys.exit(f"{test_path}: record {n}: label {r['label']!r} is neither malicious nor benign")
        r.setdefault("id", f"test-{n}")
    ids = {r.get("id") for r in rows}
    sources = {r.get("source") for r in rows if r.get("source")}
    overlap = {"same_id": sum(1 for r in test if r["id"] in ids),
               "same_source_file": sum(1 for r in test if r.get("source") in sources)}
    return list(rows), test, overlap


def mask(text):
    for pat, rep in MASKS:
        text = re.sub(pat, lambda _m, rep=rep: rep, text, flags=re.I)
    return text


# ---------------------------------------------------------------- metrics (no numpy needed)

def roc_auc(scores, labels):
    pos = sum(labels)
    neg = len(labels) - pos
    if not pos or not neg:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum, i = 0.0, 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        avg = (i + j) / 2 + 1  # ranks are 1-based; a tie shares the average rank
        rank_sum += avg * sum(labels[order[k]] for k in range(i, j + 1))
        i = j + 1
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def tpr_at_fpr(scores, labels, target):
    """(TPR, threshold): the threshold is the smallest score whose FPR is within target."""
    pos = sum(labels)
    neg = len(labels) - pos
    if not pos or not neg:
        return None, None
    by_score = {}
    for s, y in zip(scores, labels):
        c = by_score.setdefault(s, [0, 0])
        c[y] += 1
    fp = tp = 0
    best = (0.0, None)
    for s in sorted(by_score, reverse=True):
        fp += by_score[s][0]
        tp += by_score[s][1]
        if fp / neg > target:
            break
        best = (tp / pos, s)
    return best


def metrics(scores, labels):
    pos = sum(labels)
    m = {"n": len(labels), "malicious": pos, "benign": len(labels) - pos, "roc_auc": roc_auc(scores, labels)}
    for t in FPR_TARGETS:
        tpr, thr = tpr_at_fpr(scores, labels, t)
        m[f"tpr_at_{t:g}_fpr"] = tpr
        m[f"threshold_at_{t:g}_fpr"] = thr
    return m


def metrics_by_shell(rows, scores):
    labels = [1 if r["label"] == "malicious" else 0 for r in rows]
    out = {"all": metrics(scores, labels)}
    for sh in SHELLS:
        idx = [i for i, r in enumerate(rows) if r.get("shell") == sh]
        ys = [labels[i] for i in idx]
        if 0 < sum(ys) < len(ys):
            out[sh] = metrics([scores[i] for i in idx], ys)
    return out


# ---------------------------------------------------------------- the two tools

def run_baseline(train, test, seed, masked_test=None):
    import numpy as np
    import sklearn
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    y = np.array([1 if r["label"] == "malicious" else 0 for r in train])
    t0 = time.perf_counter()
    vec = TfidfVectorizer(analyzer="char", ngram_range=(2, 5), lowercase=True, sublinear_tf=True, min_df=2,
                          dtype=np.float32)
    x = vec.fit_transform([r["text"] for r in train])
    clf = LogisticRegression(solver="liblinear", C=10, class_weight="balanced", max_iter=2000,
                             random_state=seed).fit(x, y)
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    scores = clf.decision_function(vec.transform([r["text"] for r in test])).tolist()
    score_s = time.perf_counter() - t1
    res = {"model": f"scikit-learn {sklearn.__version__}: TfidfVectorizer(analyzer='char', ngram_range=(2, 5), "
                    "lowercase=True, sublinear_tf=True, min_df=2) + LogisticRegression(solver='liblinear', C=10, "
                    "class_weight='balanced', max_iter=2000); score = decision_function",
           "features": len(vec.vocabulary_), "fit_s": fit_s, "score_s": score_s,
           "metrics": metrics_by_shell(test, scores)}
    if masked_test is not None:
        ms = clf.decision_function(vec.transform([r["text"] for r in masked_test])).tolist()
        res["masked"] = metrics_by_shell(masked_test, ms)
    return res


ANALYZE_EXTRA = []  # --rules PATH …, from the command line
TRAIN_EXTRA = []  # --train-arg ARG …, from the command line


def analyze(warden, path, model):
    cmd = [warden, "analyze", "--jsonl", path] + (["--model", model] if model else []) + ANALYZE_EXTRA
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    out = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    return out, dt


def check_order(rows, outs, what):
    if len(outs) != len(rows):
        sys.exit(f"warden analyze on {what}: {len(outs)} results for {len(rows)} records")
    for r, o in zip(rows, outs):
        if o.get("id") is not None and str(o["id"]) != str(r["id"]):
            sys.exit(f"warden analyze on {what}: result id {o['id']} where {r['id']} was expected (order)")


def parent(t):
    return str(t).split(".")[0].upper()


def run_warden(warden, work, seed, train_path, test_path, test, masked_path=None, masked=None):
    model = os.path.join(work, "payload.wpld")
    cmd = [warden, "train", "payload", "--input", train_path, "--out", model, "--seed", str(seed)] + TRAIN_EXTRA
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    fit_s = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    outs, score_s = analyze(warden, test_path, model)
    check_order(test, outs, test_path)
    scores = [float(o["score"]) for o in outs]
    res = {"model": model, "fit_s": fit_s, "score_s": score_s, "metrics": metrics_by_shell(test, scores),
           "levels": dict(Counter(o.get("level") for o in outs)),
           "actions": dict(Counter(o.get("action") for o in outs))}
    with_tech = [(r, o) for r, o in zip(test, outs) if r["label"] == "malicious" and r.get("technique")]
    hit = sum(1 for r, o in with_tech
              if parent(r["technique"]) in {parent(a) for p in o.get("patterns") or [] for a in p.get("attack") or []})
    res["attack_share"] = {"records": len(with_tech), "matched": hit,
                           "share": hit / len(with_tech) if with_tech else None}
    if masked_path:
        mouts, _ = analyze(warden, masked_path, model)
        check_order(masked, mouts, masked_path)
        res["masked"] = metrics_by_shell(masked, [float(o["score"]) for o in mouts])
    return res, model


def norm(s):
    return re.sub(r"\s+", " ", s or "").strip().lower()


def level_rank(level):
    return LEVELS.index(level) if level in LEVELS else -1


def run_obfuscated(warden, work, model, path):
    variants = read_jsonl(path)
    origs = OrderedDict()
    for v in variants:
        origs.setdefault(v["orig_id"], {"id": v["orig_id"], "text": v["original"],
                                        "shell": v.get("orig_shell") or v.get("shell")})
    vpath, opath = os.path.join(work, "obf-variants.jsonl"), os.path.join(work, "obf-originals.jsonl")
    vrows = [{"id": v["id"], "text": v["text"], "shell": v.get("shell")} for v in variants]
    write_jsonl(vpath, vrows)
    write_jsonl(opath, list(origs.values()))
    vout, vs = analyze(warden, vpath, model)
    check_order(vrows, vout, vpath)
    oout, _ = analyze(warden, opath, model)
    check_order(list(origs.values()), oout, opath)
    by_orig = {r["id"]: o for r, o in zip(origs.values(), oout)}
    per = OrderedDict()
    for v, o in zip(variants, vout):
        ref = by_orig[v["orig_id"]]
        t = per.setdefault(v["technique"], {"variants": 0, "decoded": 0, "any_layer": 0, "same_end": 0,
                                            "score_drops": 0, "level_drops": 0, "score_sum": 0.0,
                                            "orig_score_sum": 0.0})
        layers = [norm(x.get("text")) for x in o.get("layers") or []]
        ref_layers = [norm(x.get("text")) for x in ref.get("layers") or []]
        want = norm(v["original"])
        t["variants"] += 1
        t["decoded"] += bool(layers) and layers[-1] == want
        t["any_layer"] += want in layers
        t["same_end"] += bool(layers) and bool(ref_layers) and layers[-1] == ref_layers[-1]
        t["score_drops"] += float(o["score"]) < float(ref["score"]) - 0.5
        t["level_drops"] += level_rank(o.get("level")) < level_rank(ref.get("level"))
        t["score_sum"] += float(o["score"])
        t["orig_score_sum"] += float(ref["score"])
    total = {k: sum(t[k] for t in per.values()) for k in ("variants", "decoded", "any_layer", "same_end",
                                                          "score_drops", "level_drops", "score_sum", "orig_score_sum")}
    for t in list(per.values()) + [total]:
        n = max(t["variants"], 1)
        t["decoded_share"] = t["decoded"] / n
        t["mean_score"] = t.pop("score_sum") / n
        t["mean_orig_score"] = t.pop("orig_score_sum") / n
    return {"file": path, "variants": len(variants), "originals": len(origs), "analyze_s": vs,
            "per_technique": per, "total": total}


# ---------------------------------------------------------------- report

def fmt(x, digits=4):
    return "-" if x is None else f"{x:.{digits}f}"


def table_rows(tool, res, key="metrics"):
    lines = []
    for subset, m in res[key].items():
        lines.append(f"| {tool} | {subset} | {m['n']} | {m['malicious']} | {m['benign']} | {fmt(m['roc_auc'])} | "
                     f"{fmt(m['tpr_at_0.01_fpr'])} | {fmt(m['tpr_at_0.001_fpr'])} |")
    return lines


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "..", "target"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warden", default=os.path.join(target, "release", "warden"))
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data", "commands", "commands.jsonl.gz"),
                    help="the corpus file, or a folder holding commands/commands.jsonl.gz or commands.jsonl.gz")
    ap.add_argument("--work", default="/tmp/warden-payload-bench")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--train-pct", type=int, default=70)
    ap.add_argument("--test", metavar="FILE",
                    help="train on all of --data and test on FILE (the held-back part) instead of a split")
    ap.add_argument("--no-baseline", action="store_true", help="skip scikit-learn")
    ap.add_argument("--baseline-only", action="store_true", help="skip Warden (also when its binary is missing)")
    ap.add_argument("--mask", action="store_true", help="also score the test texts with the corpus artifacts masked")
    ap.add_argument("--obfuscated", metavar="FILE", help="payload_obfuscate.py output to run through warden analyze")
    ap.add_argument("--rules", metavar="PATH", action="append", default=[],
                    help="Sigma rules for warden analyze's process-creation view (repeatable)")
    ap.add_argument("--train-arg", metavar="ARG", action="append", default=[],
                    help="passed on to warden train payload (repeatable; --train-arg=--keep-image-paths)")
    a = ap.parse_args()
    TRAIN_EXTRA.extend(a.train_arg)
    for r in a.rules:
        ANALYZE_EXTRA.extend(["--rules", r])
    if a.no_baseline and a.baseline_only:
        ap.error("--no-baseline and --baseline-only leave nothing to run")

    data = a.data
    if os.path.isdir(data):
        for cand in ("commands/commands.jsonl.gz", "commands.jsonl.gz"):
            if os.path.exists(os.path.join(data, cand)):
                data = os.path.join(data, cand)
                break
    os.makedirs(a.work, exist_ok=True)
    rows = read_jsonl(data)
    overlap = None
    if a.test:
        train, test, overlap = held_back(rows, a.test)
        groups = {group_of(r): True for r in train}
        groups.update({group_of(r): False for r in test if group_of(r) not in groups})
    else:
        train, test, groups = split(rows, a.seed, a.train_pct)
    train_path, test_path = os.path.join(a.work, "train.jsonl"), os.path.join(a.work, "test.jsonl")
    write_jsonl(train_path, train)
    write_jsonl(test_path, test)
    masked, masked_path = None, None
    if a.mask:
        masked = [dict(r, text=mask(r["text"])) for r in test]
        masked_path = os.path.join(a.work, "test-masked.jsonl")
        write_jsonl(masked_path, masked)

    def counts(part):
        c = Counter((r["shell"], r["label"]) for r in part)
        return {sh: {"malicious": c[(sh, "malicious")], "benign": c[(sh, "benign")]} for sh in SHELLS}
    summary = {"data": os.path.abspath(data), "seed": a.seed, "train_pct": None if a.test else a.train_pct,
               "test_file": os.path.abspath(a.test) if a.test else None, "overlap": overlap,
               "split": {"groups": len(groups), "train_groups": sum(groups.values()),
                         "test_groups": len(groups) - sum(groups.values()),
                         "train": len(train), "test": len(test), "train_by_shell": counts(train),
                         "test_by_shell": counts(test)}}

    if not a.no_baseline:
        summary["baseline"] = run_baseline(train, test, a.seed, masked)
    run_w = not a.baseline_only
    if run_w and not os.access(a.warden, os.X_OK):
        print(f"note: no warden binary at {a.warden} (cargo build --release -p warden-cli); Warden skipped",
              file=sys.stderr)
        run_w = False
    model = None
    if run_w:
        summary["warden"], model = run_warden(a.warden, a.work, a.seed, train_path, test_path, test,
                                              masked_path, masked)
        if a.obfuscated:
            summary["obfuscated"] = run_obfuscated(a.warden, a.work, model, a.obfuscated)
    elif a.obfuscated:
        print("note: --obfuscated needs Warden; skipped", file=sys.stderr)

    with open(os.path.join(a.work, "payload_compare.json"), "w") as f:
        json.dump(summary, f, indent=2)

    s = summary["split"]
    if a.test:
        print(f"## Payload analyser, trained on {data}, tested on {a.test} (seed {a.seed})\n")
        if overlap["same_id"] or overlap["same_source_file"]:
            print(f"note: {overlap['same_id']} test records share a text with the training data and "
                  f"{overlap['same_source_file']} a source file; they are scored all the same.\n")
    else:
        print(f"## Payload analyser, grouped split (seed {a.seed}, {a.train_pct} % of groups to train)\n")
    print(f"{s['groups']} groups ({s['train_groups']} train, {s['test_groups']} test); "
          f"{s['train']} train records, {s['test']} test records.\n")
    print("| side | shell | malicious | benign |\n|---|---|---|---|")
    for side in ("train", "test"):
        for sh, c in s[f"{side}_by_shell"].items():
            print(f"| {side} | {sh} | {c['malicious']} | {c['benign']} |")
    print()
    print("| tool | subset | n | malicious | benign | ROC AUC | TPR @ 1 % FPR | TPR @ 0.1 % FPR |")
    print("|---|---|---|---|---|---|---|---|")
    lines = []
    for tool in ("baseline", "warden"):
        if tool in summary:
            lines += table_rows(tool, summary[tool])
    for tool in ("baseline", "warden"):
        if tool in summary and "masked" in summary[tool]:
            lines += table_rows(f"{tool} (masked)", summary[tool], "masked")
    print("\n".join(lines))
    print()
    print("| tool | fit s | score s | notes |\n|---|---|---|---|")
    if "baseline" in summary:
        b = summary["baseline"]
        print(f"| baseline | {b['fit_s']:.2f} | {b['score_s']:.2f} | {b['features']} features; {b['model']} |")
    if "warden" in summary:
        w = summary["warden"]
        sh = w["attack_share"]
        print(f"| warden | {w['fit_s']:.2f} | {w['score_s']:.2f} | wall-clock of train payload / analyze; "
              f"ATT&CK parent matched on {sh['matched']} of {sh['records']} malicious test records "
              f"({fmt(sh['share'], 3)}) |")
    if "obfuscated" in summary:
        o = summary["obfuscated"]
        print(f"\n### Obfuscated variants ({o['variants']} variants of {o['originals']} commands; {o['file']})\n")
        print("decoded: the last layer is the original; any layer: some layer is; same end: the last layer is the "
              "original's own last layer (an original that is itself encoded decodes further).\n")
        print("| technique | variants | decoded | decoded share | any layer | same end | score drops | level drops "
              "| mean score | mean original score |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name, t in list(o["per_technique"].items()) + [("total", o["total"])]:
            print(f"| {name} | {t['variants']} | {t['decoded']} | {t['decoded_share']:.3f} | {t['any_layer']} | "
                  f"{t['same_end']} | {t['score_drops']} | {t['level_drops']} | {t['mean_score']:.1f} | "
                  f"{t['mean_orig_score']:.1f} |")
    print(f"\nJSON: {os.path.join(a.work, 'payload_compare.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
