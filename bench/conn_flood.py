#!/usr/bin/env python3
"""Connection exhaustion against `warden serve`, as a hostile client does it.

Starts the service with the common open-file limit (1,024), opens N connections from
127.0.0.1 that each send half a request line and stop, then asks /healthz from another
address (127.0.0.2) and reports: how long it took, how many of the half-open connections the
server had closed after the header timeout, and the connection counters of /metrics.

    python3 bench/conn_flood.py --bin target/debug/warden [--connections 1100]
"""
import argparse
import os
import resource
import socket
import subprocess
import tempfile
import time
import urllib.request


def healthz(port, source):
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    t0 = time.monotonic()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return time.monotonic() - t0, data.split(b"\r\n", 1)[0].decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--connections", type=int, default=1100)
    a = ap.parse_args()
    work = tempfile.mkdtemp()
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    p = port.getsockname()[1]
    port.close()

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    srv = subprocess.Popen(
        [a.bin, "serve", "--store", os.path.join(work, "w.db"), "--listen", f"127.0.0.1:{p}"],
        stderr=subprocess.DEVNULL, preexec_fn=limit)
    try:
        for _ in range(100):
            try:
                healthz(p, "127.0.0.2")
                break
            except OSError:
                time.sleep(0.1)
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
        held = []
        for _ in range(a.connections):
            try:
                c = socket.create_connection(("127.0.0.1", p), timeout=5)
                c.sendall(b"GET /heal")
                held.append(c)
            except OSError:
                pass
        time.sleep(0.5)
        took, line = healthz(p, "127.0.0.2")
        print(f"{a.connections} half-sent requests open from 127.0.0.1; /healthz from 127.0.0.2: {line} in {took * 1000:.1f} ms")
        t0 = time.monotonic()
        closed = 0
        for c in held:
            c.settimeout(max(0.1, 15 - (time.monotonic() - t0)))
            try:
                if c.recv(1) == b"":
                    closed += 1
            except OSError:
                closed += 1
        print(f"closed by the server within {time.monotonic() - t0:.1f} s: {closed} of {len(held)}")
        m = urllib.request.urlopen(f"http://127.0.0.1:{p}/metrics", timeout=5).read().decode()
        for l in m.splitlines():
            if l.startswith("warden_connections_") and not l.startswith("#"):
                print("  " + l)
    finally:
        srv.terminate()
        srv.wait()


if __name__ == "__main__":
    main()
