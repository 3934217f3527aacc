#!/usr/bin/env python3
"""Throughput of `warden serve`'s syslog listeners over loopback (standard library only).

Starts the release binary with a UDP and a TCP listener for one tenant, then:

1. TCP: sends --tcp-messages generated messages (sshd, sudo, su, cron, kernel, CEF; both
   RFC 3164 and RFC 5424; octet counting and newline framing) over --connections
   connections as fast as the sockets take them, and times until the listener has read
   them all (its counters at /metrics). Nothing may be lost: read == sent.
2. UDP: for each rate of --udp-rates, sends for --udp-seconds paced at that rate and
   reports what was sent, what the listener received, read, and dropped (queue full), and
   what the kernel dropped (sent - received).

    bench/syslog_listener.py [--no-build] [--tcp-messages 1000000] [--udp-rates 20000,50000,100000]
"""

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def messages(n, seed):
    """`n` messages of a fleet: mostly routine, some failed logins, in time order."""
    rng = random.Random(seed)
    hosts = [f"web{i}" for i in range(200)] + [f"db{i}" for i in range(50)]
    users = [f"user{i}" for i in range(2000)]
    t = 1_764_547_200  # 2025-12-01T00:00:00Z
    out = []
    for i in range(n):
        t += rng.random() * 0.05
        host = rng.choice(hosts)
        user = rng.choice(users)
        ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        pid = rng.randrange(1000, 60000)
        kind = rng.random()
        if kind < 0.25:
            body = (f"sshd[{pid}]: Accepted publickey for {user} from {ip} port {rng.randrange(1024, 65535)} ssh2: "
                    f"RSA SHA256:{rng.getrandbits(64):016x}")
        elif kind < 0.35:
            body = f"sshd[{pid}]: Failed password for {user} from {ip} port {rng.randrange(1024, 65535)} ssh2"
        elif kind < 0.45:
            body = (f"sudo[{pid}]:   {user} : TTY=pts/{rng.randrange(9)} ; PWD=/home/{user} ; USER=root ; "
                    f"COMMAND=/usr/bin/systemctl restart nginx")
        elif kind < 0.75:
            body = f"CRON[{pid}]: ({user}) CMD (/usr/local/bin/backup --incremental /srv/data)"
        elif kind < 0.95:
            body = f"kernel: [{i}.{pid:06d}] eth0: link up, 1000Mbps, full-duplex, lpa 0x{pid:04X}"
        else:
            ts = time.strftime("%b %d %Y %H:%M:%S", time.gmtime(t))
            body = (f"CEF:0|Acme|VPN Gateway|2.1|600|User logon|3|rt={ts} UTC suser={user} src={ip} "
                    f"dhost={host} outcome=success")
        if i % 2:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"
            app, _, rest = body.partition(": ")
            name = app.split("[")[0]
            out.append(f"<38>1 {stamp} {host} {name} {pid} - - {rest}")
        else:
            g = time.gmtime(t)
            out.append(f"<38>{MONTHS[g.tm_mon - 1]} {g.tm_mday:2d} {time.strftime('%H:%M:%S', g)} {host} {body}")
    return out


def counters(port, listener):
    """The listener's message counters at /metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    got = {}
    for m in re.finditer(r'warden_listener_messages_total\{listener="([^"]+)",[^}]*outcome="(\w+)"\} (\d+)', text):
        if m.group(1) == listener:
            got[m.group(2)] = int(m.group(3))
    return got


def wait_for(port, listener, want, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        c = counters(port, listener)
        if c.get("parsed", 0) + c.get("unparsed", 0) >= want:
            return c, time.time()
        time.sleep(0.05)
    return counters(port, listener), None


def tcp_run(port, http_port, lines, connections):
    chunks = []
    per = len(lines) // connections
    for k in range(connections):
        part = lines[k * per:(k + 1) * per]
        buf = bytearray()
        for j, l in enumerate(part):
            b = l.encode()
            if j % 2:
                buf += str(len(b)).encode() + b" " + b
            else:
                buf += b + b"\n"
        chunks.append(bytes(buf))
    sent = per * connections
    start = time.time()

    def send(data):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(data)
        s.close()

    threads = [threading.Thread(target=send, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c, done = wait_for(http_port, "bench-tcp", sent, 600)
    if done is None:
        print(f"TCP: not all read in 10 minutes: {c}")
        return
    secs = done - start
    read = c.get("parsed", 0) + c.get("unparsed", 0)
    print(f"TCP, {connections} connections: {sent:,} sent, {read:,} read ({c.get('unparsed', 0)} unreadable), "
          f"lost {sent - read}; {secs:.2f} s, {read / secs:,.0f} messages/s")


def udp_run(port, http_port, lines, rate, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    data = [l.encode() for l in lines]
    before = counters(http_port, "bench-udp")
    start = time.time()
    sent = 0
    while True:
        now = time.time()
        if now - start >= seconds:
            break
        due = int((now - start) * rate)
        while sent < due:
            s.sendto(data[sent % len(data)], ("127.0.0.1", port))
            sent += 1
        time.sleep(0.001)
    elapsed = time.time() - start
    # Until everything received is accounted for (read or dropped), or 60 s.
    # (and the socket's buffer empty: nothing more received since the last look).
    deadline = time.time() + 60
    last = -1
    while True:
        after = counters(http_port, "bench-udp")
        d = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        settled = sum(d.get(k, 0) for k in ("parsed", "unparsed", "queue_full", "rate_limited", "oversize"))
        got = d.get("received", 0)
        if (settled >= got and got == last) or time.time() > deadline:
            break
        last = got
        time.sleep(0.2)
    drained = time.time() - start
    received = d.get("received", 0)
    read = d.get("parsed", 0) + d.get("unparsed", 0)
    print(f"UDP at {rate:,}/s for {seconds:.0f} s: sent {sent:,} ({sent / elapsed:,.0f}/s), "
          f"received {received:,}, read {read:,}, queue full {d.get('queue_full', 0):,}, "
          f"kernel dropped {sent - received:,}; all read {drained - elapsed:.1f} s after the last send")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--tcp-messages", type=int, default=1_000_000)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--udp-rates", default="20000,50000,100000")
    ap.add_argument("--udp-seconds", type=float, default=5.0)
    args = ap.parse_args()
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "warden-cli"], cwd=ROOT, check=True)
    warden = os.environ.get("WARDEN", os.path.join(target, "release", "warden"))

    work = tempfile.mkdtemp()
    udp_port, tcp_port, http_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM), free_port(socket.SOCK_STREAM)
    config = os.path.join(work, "warden.toml")
    with open(config, "w") as f:
        f.write(f"""[server]
listen = "127.0.0.1:{http_port}"
store = "{os.path.join(work, 'w.db')}"

[[listeners]]
name = "bench-udp"
protocol = "udp"
bind = "127.0.0.1:{udp_port}"
tenant = "bench"
rate_per_source = 0

[[listeners]]
name = "bench-tcp"
protocol = "tcp"
bind = "127.0.0.1:{tcp_port}"
tenant = "bench"
rate_per_source = 0
""")
    lines = messages(max(args.tcp_messages, 200_000), 7)
    server = subprocess.Popen([warden, "serve", "--config", config], stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(3):
            line = server.stderr.readline()
            if "listening on" in line:
                break
        # Its later log lines are read away, so the pipe never fills.
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        print(f"== warden serve, {os.cpu_count()} cores; generated messages (seed 7)")
        tcp_run(tcp_port, http_port, lines[:args.tcp_messages], args.connections)
        for rate in [int(r) for r in args.udp_rates.split(",") if r]:
            udp_run(udp_port, http_port, lines, rate, args.udp_seconds)
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
