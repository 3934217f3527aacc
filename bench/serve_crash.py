#!/usr/bin/env python3
"""Crash test of `warden serve`: ingest while killing the server with SIGKILL at random
moments, restart it on the same store, resend what was not acknowledged (as a client
would), and at the end compare every acknowledged alert with the store: zero lost, zero
duplicated.

    bench/serve_crash.py [--no-build] [--kills 10] [--data ../shared/data/ueba] [--seed 1]
"""

import argparse
import gzip
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(warden, store):
    p = subprocess.Popen([warden, "serve", "--listen", "127.0.0.1:0", "--store", store],
                         stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "WARDEN_RATE_LIMIT_PER_MINUTE": "0"})
    port = int(re.search(r"127\.0\.0\.1:(\d+)", p.stderr.readline()).group(1))
    # Keep reading stderr so the server never blocks on it.
    threading.Thread(target=lambda: p.stderr.read(), daemon=True).start()
    return p, port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "ueba"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    events = os.path.join(args.data, "events.jsonl.gz")
    if not os.path.exists(events):
        sys.exit(f"no UEBA data at {events}; pass --data DIR")
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "warden-cli"], cwd=ROOT, check=True)
    warden = os.environ.get("WARDEN", os.path.join(target, "release", "warden"))
    rng = random.Random(args.seed)
    with gzip.open(events, "rt") as f:
        lines = [l.rstrip("\n") for l in f]
    batches = [("\n".join(lines[i:i + args.batch]) + "\n").encode()
               for i in range(0, len(lines), args.batch)]

    work = tempfile.mkdtemp()
    store = os.path.join(work, "w.db")
    token = subprocess.run([warden, "token", "create", "--store", store, "--scope", "write",
                            "--tenant", "crash"], check=True, capture_output=True, text=True).stdout.strip()
    acked = {}  # alert id -> (user, timestamp, event_id)
    server, port = start(warden, store)
    kills, sent, failed_requests, i = 0, 0, 0, 0
    kill_at = time.monotonic() + rng.uniform(0.2, 1.5)
    try:
        while i < len(batches):
            if kills < args.kills and time.monotonic() >= kill_at:
                server.send_signal(signal.SIGKILL)
                server.wait()
                kills += 1
                server, port = start(warden, store)
                kill_at = time.monotonic() + rng.uniform(0.2, 1.5)
            # Kill in the middle of a request now and then.
            if kills < args.kills and rng.random() < 0.15:
                killer = threading.Timer(rng.uniform(0.0, 0.02), server.send_signal, [signal.SIGKILL])
                killer.start()
            else:
                killer = None
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", "/v1/detect/realtime", body=batches[i], headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})
                resp = conn.getresponse()
                body = resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"status {resp.status}")
                for a in json.loads(body)["alerts"]:
                    s = json.loads(batches[i].split(b"\n")[a["index"]])
                    key = (s["user_id"], s["event_id"])
                    if a["id"] in acked and acked[a["id"]] != key:
                        sys.exit(f"alert id {a['id']} reused for another event")
                    acked[a["id"]] = key
                sent += 1
                i += 1
            except (OSError, RuntimeError, http.client.HTTPException):
                # Not acknowledged: the client sends the same batch again after a restart.
                failed_requests += 1
                if killer:
                    killer.cancel()
                if server.poll() is not None:
                    kills += 1
                    server, port = start(warden, store)
            if killer:
                killer.cancel()
                if server.poll() is not None:
                    kills += 1
                    server, port = start(warden, store)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    out = subprocess.run([warden, "alerts", "list", "--store", store, "--json", "--limit", "0"],
                         check=True, capture_output=True, text=True).stdout
    stored = [json.loads(l) for l in out.splitlines() if l.strip()]
    by_id = {a["id"]: a for a in stored}
    lost = [i for i in acked if i not in by_id]
    wrong = [i for i, (u, e) in acked.items() if i in by_id and (by_id[i]["user_id"], by_id[i]["event_id"]) != (u, e)]
    keys = [(a["user_id"], a["timestamp"], a["event_id"]) for a in stored]
    duplicates = len(keys) - len(set(keys))
    print(f"batches {len(batches)} acknowledged ({sent} requests answered, {failed_requests} cut by a kill); "
          f"SIGKILLs {kills}; alerts acknowledged {len(acked)}, stored {len(stored)}; "
          f"lost {len(lost)}, wrong {len(wrong)}, duplicated {duplicates}")
    shutil.rmtree(work, ignore_errors=True)
    if lost or wrong or duplicates:
        sys.exit(1)


if __name__ == "__main__":
    main()
