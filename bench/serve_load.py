#!/usr/bin/env python3
"""Load benchmark of `warden serve` over loopback (standard library only).

Starts the release binary on a fresh store, creates a token, then measures:

1. ingest: events/s sustained through POST /v1/detect/realtime with 1,000-event JSON Lines
   batches from the UEBA data, from --connections concurrent keep-alive connections;
2. latency: p50/p99 of 100-event batches sent at a fixed request rate (--rate per second);
3. fan-out: --clients SSE clients on /v1/stream, then a batch that raises alerts; the time
   from sending the batch to each client receiving its first alert, p50/p99;
4. memory: the server's resident set size sampled during a sustained ingest of --duration
   seconds (it must stay flat).

    bench/serve_load.py [--no-build] [--data ../shared/data/ueba] [--duration 60]
"""

import argparse
import asyncio
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


async def request(reader, writer, method, path, token, body=b"", ctype="application/x-ndjson"):
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
    payload = await reader.readexactly(length) if length else b""
    return int(status_line.split()[1]), payload


def batches_of(lines, size, offset=0):
    out = []
    for i in range(0, len(lines) - size + 1, size):
        out.append(("\n".join(lines[i:i + size]) + "\n").encode())
    return out[offset:] + out[:offset]


async def ingest(port, token, bodies, connections, seconds=None):
    """Sends the bodies round-robin over `connections` connections; returns (events, secs)."""
    queue = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    sent = [0]
    deadline = time.monotonic() + seconds if seconds else None

    async def worker():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while True:
            if deadline and time.monotonic() > deadline:
                break
            try:
                body = queue.get_nowait()
            except asyncio.QueueEmpty:
                if not deadline:
                    break
                for b in bodies:
                    queue.put_nowait(b)
                continue
            status, _ = await request(reader, writer, "POST", "/v1/detect/realtime", token, body)
            if status != 200:
                raise SystemExit(f"ingest answered {status}")
            sent[0] += body.count(b"\n")
        writer.close()

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return sent[0], time.monotonic() - t0


async def latency(port, token, bodies, rate, seconds):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lat = []
    interval = 1.0 / rate
    start = time.monotonic()
    i = 0
    while time.monotonic() - start < seconds:
        due = start + i * interval
        now = time.monotonic()
        if due > now:
            await asyncio.sleep(due - now)
        t0 = time.perf_counter()
        status, _ = await request(reader, writer, "POST", "/v1/detect/realtime", token, bodies[i % len(bodies)])
        lat.append((time.perf_counter() - t0) * 1000.0)
        if status != 200:
            raise SystemExit(f"latency run answered {status}")
        i += 1
    writer.close()
    return lat


async def fanout(port, token, clients, alert_body):
    ready = asyncio.Event()
    connected = [0]
    received = []
    sent_at = [0.0]
    done = asyncio.Event()

    async def client():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            (f"GET /v1/stream HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
             "Accept: text/event-stream\r\n\r\n").encode())
        await writer.drain()
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        connected[0] += 1
        if connected[0] == clients:
            ready.set()
        while True:
            line = await reader.readline()
            if not line:
                break
            if b"data: " in line:
                received.append(time.perf_counter() - sent_at[0])
                if len(received) == clients:
                    done.set()
                break
        writer.close()

    tasks = [asyncio.create_task(client()) for _ in range(clients)]
    await asyncio.wait_for(ready.wait(), 60)
    await asyncio.sleep(0.5)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent_at[0] = time.perf_counter()
    status, payload = await request(reader, writer, "POST", "/v1/detect/realtime", token, alert_body)
    alerts = len(json.loads(payload)["alerts"])
    try:
        await asyncio.wait_for(done.wait(), 30)
    except asyncio.TimeoutError:
        pass
    for t in tasks:
        t.cancel()
    writer.close()
    return alerts, [r * 1000.0 for r in received]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "ueba"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--rate", type=float, default=50.0, help="requests/s of 100-event batches")
    ap.add_argument("--latency-seconds", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=60.0, help="sustained run for memory")
    ap.add_argument("--only", choices=["fanout", "ingest", "latency", "memory"], action="append",
                    help="run only these parts (repeatable); default: all")
    args = ap.parse_args()

    events = os.path.join(args.data, "events.jsonl.gz")
    if not os.path.exists(events):
        sys.exit(f"no UEBA data at {events}; pass --data DIR")
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "warden-cli"], cwd=ROOT, check=True)
        subprocess.run(["cargo", "build", "--release", "-p", "warden-server", "--example", "stream_fanout"],
                       cwd=ROOT, check=True)
    warden = os.environ.get("WARDEN", os.path.join(target, "release", "warden"))
    with gzip.open(events, "rt") as f:
        lines = [l.rstrip("\n") for l in f]

    work = tempfile.mkdtemp()
    store = os.path.join(work, "w.db")
    token = subprocess.run([warden, "token", "create", "--store", store, "--scope", "write",
                            "--tenant", "bench"], check=True, capture_output=True, text=True).stdout.strip()
    server = subprocess.Popen([warden, "serve", "--listen", "127.0.0.1:0", "--store", store],
                              stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "WARDEN_RATE_LIMIT_PER_MINUTE": "0",
                                   "WARDEN_BATCH_LIMIT_BYTES": str(64 << 20)})
    first = server.stderr.readline()
    port = int(re.search(r"127\.0\.0\.1:(\d+)", first).group(1))
    print(f"== warden serve on port {port}, {os.cpu_count()} cores; {len(lines)} events")
    try:
        want = lambda part: not args.only or part in args.only
        bodies = batches_of(lines, 1000)
        if want("fanout"):
            # 1. Fan-out first, on an empty store, so clients get only the live alerts: a burst of
            # failed logins of a new user raises alerts, sent to N clients.
            burst = []
            for i in range(30):
                burst.append(json.dumps({
                    "event_id": f"fanout-{time.time_ns()}-{i}", "user_id": f"fanout-user-{time.time_ns()}",
                    "activity_type": "login", "timestamp": "2026-04-12T03:00:%02dZ" % i,
                    "location": "Lagos, NG", "latitude": 6.52, "longitude": 3.38,
                    "ip_address": "203.0.113.9", "success": i == 29}))
            burst_body = ("\n".join(burst) + "\n").encode()
            client = os.path.join(target, "release", "examples", "stream_fanout")
            if os.path.exists(client):
                # The compiled client: the figure is the server's, not Python's.
                with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as f:
                    f.write(burst_body)
                out = subprocess.run([client, "--port", str(port), "--token", token, "--clients",
                                      str(args.clients), "--body", f.name],
                                     check=True, capture_output=True, text=True).stdout
                os.unlink(f.name)
                r = json.loads(out)
                print(f"fan-out to {args.clients} SSE clients (compiled client): {r['received']} received; "
                      f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms")
            else:
                alerts, received = asyncio.run(fanout(port, token, args.clients, burst_body))
                print(f"fan-out to {args.clients} SSE clients, Python client ({alerts} alerts raised): "
                      f"{len(received)} received; p50 {percentile(received, 50):.1f} ms, "
                      f"p99 {percentile(received, 99):.1f} ms")
        if want("ingest"):
            # 2. Ingest: the whole file once, in order, 1,000-event batches.
            n, secs = asyncio.run(ingest(port, token, bodies, 1))
            print(f"ingest, 1 connection, 1,000-event batches: {n} events in {secs:.2f} s = {n / secs:,.0f} events/s")
            n, secs = asyncio.run(ingest(port, token, bodies, args.connections))
            print(f"ingest, {args.connections} connections (replay: scored again, alerts deduplicated): "
                  f"{n} events in {secs:.2f} s = {n / secs:,.0f} events/s")
        if want("latency"):
            # 3. Latency of 100-event batches at a fixed rate.
            small = batches_of(lines, 100)
            lat = asyncio.run(latency(port, token, small, args.rate, args.latency_seconds))
            print(f"latency, 100-event batches at {args.rate:.0f} req/s ({len(lat)} requests): "
                  f"p50 {percentile(lat, 50):.2f} ms, p99 {percentile(lat, 99):.2f} ms, max {max(lat):.2f} ms")
        if want("memory"):
            # 4. Memory over a sustained run.
            samples = []

            async def sustained():
                task = asyncio.create_task(ingest(port, token, bodies, args.connections, args.duration))
                while not task.done():
                    samples.append(rss_mib(server.pid))
                    await asyncio.sleep(max(1.0, args.duration / 30))
                return await task

            n, secs = asyncio.run(sustained())
            q = max(1, len(samples) // 4)
            print("RSS MiB samples: " + " ".join(f"{x:.0f}" for x in samples))
            print(f"sustained {secs:.0f} s: {n / secs:,.0f} events/s; RSS MiB first quarter "
                  f"{statistics.mean(samples[:q]):.1f}, last quarter {statistics.mean(samples[-q:]):.1f}, "
                  f"max {max(samples):.1f}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
