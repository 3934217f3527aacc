#!/usr/bin/env python3
"""Isolation forest: Warden against scikit-learn on the same rows, same preprocessing.

For each data set (NSL-KDD KDDTrain+, UNSW-NB15 visible 70 %), the labelled file is split
once, deterministically (seeded shuffle, 70 % train / 30 % test), into two files in the
original format. Both tools train on the normal rows of the train part and score the test
part. Preprocessing is the same on both sides: numeric columns standardised with the mean
and (population) standard deviation of the training rows (1 when constant), categorical
columns one-hot encoded with the categories of the training rows (an unseen one encodes as
zeros). Timed: fit, and scoring as the median of 5 runs, without reading or encoding (Warden reports its own timings in
the model file and `warden eval`'s JSON; scikit-learn is timed around fit and
score_samples). Both use the machine's cores (scikit-learn n_jobs = cores).

Boosted trees: XGBoost (hist) against `warden train gbdt`, both on all rows of the train
part (100 trees, depth 6, learning rate 0.1, 256 bins), scored on the test part; and on
UNSW-NB15 the multi-class form (attack categories): class accuracy and training time.

Requires: pip install 'scikit-learn==1.5.2' 'numpy<2.1' 'xgboost-cpu==2.1.1'
Usage: bench/ml_compare.py [--warden PATH] [--data DIR] [--work DIR] [--seed N] [--no-gbdt]
"""
import argparse, csv, gzip, io, json, os, random, subprocess, sys, time

def read_rows(path):
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))

NSL_CAT = {1, 2, 3}

def split(rows, seed, frac=0.7):
    idx = list(range(len(rows)))
    random.Random(seed).shuffle(idx)
    cut = int(len(idx) * frac)
    return [rows[i] for i in idx[:cut]], [rows[i] for i in idx[cut:]]

def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        if header:
            w.writerow(header)
        w.writerows(rows)

def prepare(name, data, work, seed):
    if name == "nsl-kdd":
        rows = read_rows(os.path.join(data, "nsl-kdd", "KDDTrain+.txt.gz"))
        header = None
        num_idx = [i for i in range(41) if i not in NSL_CAT]
        cat_idx = sorted(NSL_CAT)
        attack = lambda r: r[41] != "normal"
    else:
        rows = read_rows(os.path.join(data, "unsw-nb15", "UNSW_NB15_training-set.visible70.csv.gz"))
        header, rows = rows[0], rows[1:]
        drop = {"id", "attack_cat", "label"}
        cats = {"proto", "service", "state"}
        num_idx = [i for i, h in enumerate(header) if h not in drop and h not in cats]
        cat_idx = [header.index(c) for c in ("proto", "service", "state")]
        li = header.index("label")
        attack = lambda r: r[li] == "1"
    train, test = split(rows, seed)
    tr_path, te_path = os.path.join(work, f"{name}-train.csv"), os.path.join(work, f"{name}-test.csv")
    write_csv(tr_path, header, train)
    write_csv(te_path, header, test)
    return train, test, num_idx, cat_idx, attack, tr_path, te_path

def encode(rows, num_idx, cat_idx, ref):
    import numpy as np
    if ref is None:
        num = np.array([[float(r[i]) for i in num_idx] for r in rows])
        mean = num.mean(axis=0)
        sd = num.std(axis=0)
        sd[sd <= 1e-12] = 1.0
        cats = [sorted({r[i] for r in rows}) for i in cat_idx]
        ref = (mean, sd, cats)
    mean, sd, cats = ref
    num = (np.array([[float(r[i]) for i in num_idx] for r in rows]) - mean) / sd
    parts = [num]
    for i, values in zip(cat_idx, cats):
        pos = {v: k for k, v in enumerate(values)}
        oh = np.zeros((len(rows), len(values)))
        for j, r in enumerate(rows):
            k = pos.get(r[i])
            if k is not None:
                oh[j, k] = 1.0
        parts.append(oh)
    return np.hstack(parts).astype(np.float32), ref

REPEAT = 5

def timed(f):
    """Runs f REPEAT times; returns its last result and the median time."""
    times, out = [], None
    for _ in range(REPEAT):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return out, sorted(times)[len(times) // 2]

def run_sklearn(train, test, num_idx, cat_idx, attack, seed, jobs):
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score, average_precision_score
    normal = [r for r in train if not attack(r)]
    x_train, ref = encode(normal, num_idx, cat_idx, None)
    x_test, _ = encode(test, num_idx, cat_idx, ref)
    y = [1 if attack(r) else 0 for r in test]
    t0 = time.perf_counter()
    model = IsolationForest(n_estimators=100, max_samples=256, contamination="auto",
                            random_state=seed, n_jobs=jobs).fit(x_train)
    t1 = time.perf_counter()
    scores, score_s = timed(lambda: -model.score_samples(x_test))
    return {"roc_auc": roc_auc_score(y, scores), "pr_auc": average_precision_score(y, scores),
            "fit_s": t1 - t0, "score_s": score_s, "train_rows": len(normal), "test_rows": len(test)}

def run_xgboost(train, test, num_idx, cat_idx, attack, seed, jobs):
    import xgboost as xgb
    from sklearn.metrics import roc_auc_score, average_precision_score
    x_train, ref = encode(train, num_idx, cat_idx, None)
    x_test, _ = encode(test, num_idx, cat_idx, ref)
    y_train = [1 if attack(r) else 0 for r in train]
    y = [1 if attack(r) else 0 for r in test]
    t0 = time.perf_counter()
    model = xgb.XGBClassifier(n_estimators=100, max_depth=6, learning_rate=0.1, tree_method="hist",
                              max_bin=256, n_jobs=jobs, random_state=seed).fit(x_train, y_train)
    t1 = time.perf_counter()
    p, score_s = timed(lambda: model.predict_proba(x_test)[:, 1])
    acc = sum(1 for a, b in zip(p, y) if (a >= 0.5) == (b == 1)) / len(y)
    return {"roc_auc": roc_auc_score(y, p), "pr_auc": average_precision_score(y, p), "accuracy": acc,
            "fit_s": t1 - t0, "score_s": score_s, "train_rows": len(train), "test_rows": len(test)}

def run_warden_gbdt(warden, fmt, tr_path, te_path, work):
    model = os.path.join(work, f"{fmt}-gbdt.wmdl")
    subprocess.run([warden, "train", "gbdt", "--input", tr_path, "--format", fmt, "--out", model],
                   check=True, stderr=subprocess.DEVNULL)
    out = subprocess.run([warden, "eval", "--model", model, "--input", te_path, "--repeat", str(REPEAT)],
                         check=True, capture_output=True, text=True).stdout
    e = json.loads(out)
    return {"roc_auc": e["roc_auc"], "pr_auc": e["pr_auc"], "accuracy": e["accuracy"], "fit_s": e["fit_seconds"],
            "score_s": e["score_seconds"], "train_rows": e["trained_rows"], "test_rows": e["rows"]}

def run_multiclass(warden, train, test, num_idx, cat_idx, tr_path, te_path, work, seed, jobs, data):
    """UNSW-NB15 attack categories: XGBoost softprob against `warden train gbdt --multiclass`."""
    import numpy as np
    import xgboost as xgb
    header = read_rows(os.path.join(data, "unsw-nb15", "UNSW_NB15_training-set.visible70.csv.gz"))[0]
    ci = header.index("attack_cat")
    classes = sorted({r[ci].lower() for r in train})
    x_train, ref = encode(train, num_idx, cat_idx, None)
    x_test, _ = encode(test, num_idx, cat_idx, ref)
    y_train = [classes.index(r[ci].lower()) for r in train]
    y_test = np.array([classes.index(r[ci].lower()) if r[ci].lower() in classes else -1 for r in test])
    t0 = time.perf_counter()
    model = xgb.XGBClassifier(n_estimators=100, max_depth=6, learning_rate=0.1, tree_method="hist",
                              max_bin=256, n_jobs=jobs, random_state=seed).fit(x_train, y_train)
    fit_s = time.perf_counter() - t0
    acc = float(np.mean(np.argmax(model.predict_proba(x_test), 1) == y_test))
    out_model = os.path.join(work, "unsw-nb15-multiclass.wmdl")
    subprocess.run([warden, "train", "gbdt", "--multiclass", "--input", tr_path, "--format", "unsw-nb15",
                    "--out", out_model], check=True, stderr=subprocess.DEVNULL)
    e = json.loads(subprocess.run([warden, "eval", "--model", out_model, "--input", te_path],
                                  check=True, capture_output=True, text=True).stdout)
    return {"classes": len(classes), "xgboost": {"class_accuracy": acc, "fit_s": fit_s},
            "warden": {"class_accuracy": e["class_accuracy"], "fit_s": e["fit_seconds"]}}

def run_warden(warden, fmt, tr_path, te_path, work, seed):
    model = os.path.join(work, f"{fmt}.wmdl")
    subprocess.run([warden, "train", "iforest", "--input", tr_path, "--format", fmt, "--out", model,
                    "--normal-only", "--seed", str(seed)], check=True, stderr=subprocess.DEVNULL)
    out = subprocess.run([warden, "eval", "--model", model, "--input", te_path, "--repeat", str(REPEAT)],
                         check=True, capture_output=True, text=True).stdout
    e = json.loads(out)
    return {"roc_auc": e["roc_auc"], "pr_auc": e["pr_auc"], "fit_s": e["fit_seconds"],
            "score_s": e["score_seconds"], "train_rows": e["trained_rows"], "test_rows": e["rows"]}

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warden", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "..", "target")), "release", "warden"))
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data"))
    ap.add_argument("--work", default="/tmp/warden-ml-bench")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-gbdt", action="store_true", help="skip the boosted-trees comparison (XGBoost)")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    jobs = os.cpu_count() or 1
    results = []
    gbdt_results = []
    multiclass = None
    for name in ("nsl-kdd", "unsw-nb15"):
        train, test, num_idx, cat_idx, attack, tr, te = prepare(name, a.data, a.work, a.seed)
        sk = run_sklearn(train, test, num_idx, cat_idx, attack, a.seed, jobs)
        wd = run_warden(a.warden, name, tr, te, a.work, a.seed)
        results.append((name, sk, wd))
        if not a.no_gbdt:
            xg = run_xgboost(train, test, num_idx, cat_idx, attack, a.seed, jobs)
            wg = run_warden_gbdt(a.warden, name, tr, te, a.work)
            gbdt_results.append((name, xg, wg))
            if name == "unsw-nb15":
                multiclass = run_multiclass(a.warden, train, test, num_idx, cat_idx, tr, te, a.work, a.seed, jobs, a.data)
    if a.json:
        print(json.dumps({"iforest": [{"dataset": n, "sklearn": s, "warden": w} for n, s, w in results],
                          "gbdt": [{"dataset": n, "xgboost": x, "warden": w} for n, x, w in gbdt_results],
                          "multiclass": multiclass}, indent=2))
        return
    import sklearn
    print(f"isolation forest, 100 trees, 256 samples, trained on the normal rows of a 70 % split (seed {a.seed}); scikit-learn {sklearn.__version__}, {jobs} cores")
    print(f"{'dataset':10} {'tool':8} {'train':>7} {'test':>7} {'ROC AUC':>8} {'PR AUC':>7} {'fit s':>7} {'score s':>8} {'fit+score':>9}")
    for name, sk, wd in results:
        for tool, r in (("sklearn", sk), ("warden", wd)):
            print(f"{name:10} {tool:8} {r['train_rows']:>7} {r['test_rows']:>7} {r['roc_auc']:>8.4f} {r['pr_auc']:>7.4f} {r['fit_s']:>7.3f} {r['score_s']:>8.3f} {r['fit_s'] + r['score_s']:>9.3f}")
        speed = (sk["fit_s"] + sk["score_s"]) / max(wd["fit_s"] + wd["score_s"], 1e-9)
        print(f"{name:10} ROC AUC warden - sklearn = {wd['roc_auc'] - sk['roc_auc']:+.4f}; warden fit+score {speed:.1f}x faster")
    if gbdt_results:
        import xgboost
        print()
        print(f"boosted trees, 100 trees, depth 6, learning rate 0.1, 256 bins, trained on all rows of the split; XGBoost {xgboost.__version__} (hist), {jobs} cores")
        print(f"{'dataset':10} {'tool':8} {'train':>7} {'test':>7} {'ROC AUC':>8} {'PR AUC':>7} {'acc':>6} {'fit s':>7} {'score s':>8}")
        for name, xg, wg in gbdt_results:
            for tool, r in (("xgboost", xg), ("warden", wg)):
                print(f"{name:10} {tool:8} {r['train_rows']:>7} {r['test_rows']:>7} {r['roc_auc']:>8.4f} {r['pr_auc']:>7.4f} {r['accuracy']:>6.4f} {r['fit_s']:>7.3f} {r['score_s']:>8.3f}")
            print(f"{name:10} ROC AUC warden - xgboost = {wg['roc_auc'] - xg['roc_auc']:+.4f}; training x{xg['fit_s'] / max(wg['fit_s'], 1e-9):.2f} (>1: warden faster); prediction {xg['score_s'] / max(wg['score_s'], 1e-9):.1f}x faster")
    if multiclass:
        m = multiclass
        print()
        print(f"multi-class boosted trees, UNSW-NB15 attack categories ({m['classes']} classes)")
        print(f"  xgboost class accuracy {m['xgboost']['class_accuracy']:.4f}, training {m['xgboost']['fit_s']:.2f} s")
        print(f"  warden  class accuracy {m['warden']['class_accuracy']:.4f}, training {m['warden']['fit_s']:.2f} s")

if __name__ == "__main__":
    sys.exit(main())
