#!/usr/bin/env python3
"""Generated Zeek captures for `warden network`: a company's ordinary traffic with attacks
planted at a chosen strength, so the finders are judged on data they were not tuned on.

Each run draws a company (hosts, a domain controller, browsing, DNS, AD traffic, NTP, and
a share of hosts whose software updater polls a vendor every hour — the classic benign
beacon) and plants, per kind, one instance at each strength: a port scan, a host sweep, a
beacon (interval jitter and size jitter fall as strength rises), DNS tunnelling, DGA
lookups, a long connection and a large transfer out. It writes conn.log and dns.log (Zeek
TSV), runs `warden network --min-level MEDIUM`, and prints, per kind, which strengths were
found, and the findings on ordinary hosts (false positives, the updaters counted apart).

    bench/netgen.py --warden target/release/warden [--seed 7] [--hosts 300] [--hours 24]
"""

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile

STRENGTHS = [0.1, 0.25, 0.5, 0.75, 1.0]
SYLLABLES = ["ka", "lo", "mi", "ne", "ra", "to", "vi", "su", "de", "po", "an", "el", "or", "us"]
WORDS = ["mail", "news", "shop", "cloud", "photo", "video", "maps", "docs", "drive", "store", "bank", "travel"]

CONN_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
               "duration", "orig_bytes", "resp_bytes", "conn_state"]
CONN_TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "string",
              "interval", "count", "count", "string"]
DNS_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "query",
              "qtype_name", "rcode_name"]
DNS_TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "string", "string"]


class Capture:
    def __init__(self, rng, start):
        self.rng, self.start = rng, start
        self.conn, self.dns, self.n = [], [], 0
        self.truth = {}  # uid -> (kind, strength) or ("updater", None)

    def uid(self):
        self.n += 1
        return "C%08x" % self.n

    def add_conn(self, ts, src, dst, port, proto="tcp", dur=0.5, out=500, inb=2000, state="SF", tag=None):
        u = self.uid()
        self.conn.append([ts, u, src, self.rng.randint(1024, 65000), dst, port, proto, "-",
                          dur, int(out), int(inb), state])
        if tag:
            self.truth[u] = tag
        return u

    def add_dns(self, ts, src, query, qtype="A", rcode="NOERROR", tag=None):
        u = self.uid()
        self.dns.append([ts, u, src, self.rng.randint(1024, 65000), "10.0.0.2", 53, "udp", query, qtype, rcode])
        if tag:
            self.truth[u] = tag


def word(rng):
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def ext_ip(rng):
    return "%d.%d.%d.%d" % (rng.choice([23, 34, 52, 104, 142, 151, 172, 185, 203]), rng.randint(0, 255),
                            rng.randint(0, 255), rng.randint(1, 254))


def background(c, hosts, hours, updater_share):
    rng, end = c.rng, c.start + hours * 3600
    sites = [ext_ip(rng) for _ in range(400)]
    # The fleet's updater talks to one of two vendor servers.
    vendors = ["198.51.100.10", "198.51.100.20"]
    names = ["%s.%s.com" % (rng.choice(WORDS), word(rng)) for _ in range(400)]
    for h in hosts:
        # Browsing in sessions: bursts of requests at irregular times, sizes all over.
        t = c.start + rng.uniform(0, 3600)
        while t < end:
            for _ in range(rng.randint(3, 30)):
                i = rng.randrange(len(sites))
                c.add_dns(t, h, names[i])
                c.add_conn(t + 0.05, h, sites[i], rng.choice([443, 443, 443, 80]), dur=rng.expovariate(1 / 20),
                           out=rng.lognormvariate(7, 1.2), inb=rng.lognormvariate(10, 1.5))
                t += rng.expovariate(1 / 15)
            t += rng.expovariate(1 / 2400)
        # The domain: LDAP every ~5 min, Kerberos now and then, NTP every 1024 s.
        t = c.start + rng.uniform(0, 300)
        while t < end:
            c.add_conn(t, h, "10.0.0.2", 389, dur=0.02, out=rng.randint(300, 900), inb=rng.randint(500, 3000))
            t += 300 + rng.uniform(-20, 20)
        for t in range(int(c.start), int(end), 1024):
            c.add_conn(t + rng.random(), h, "10.0.0.3", 123, proto="udp", dur=0.01, out=48, inb=48)
        for _ in range(rng.randint(5, 40)):
            c.add_conn(rng.uniform(c.start, end), h, "10.0.0.2", 88, dur=0.01, out=1400, inb=1500)
        # A software updater polling its vendor every hour: a benign beacon.
        if rng.random() < updater_share:
            vendor = rng.choice(vendors)
            t = c.start + rng.uniform(0, 3600)
            while t < end:
                c.add_conn(t, h, vendor, 443, dur=0.3, out=rng.randint(700, 760), inb=rng.randint(2000, 9000),
                           tag=("updater", None))
                t += 3600 + rng.uniform(-120, 120)


def plant(c, attacker, s, hours):
    """One instance of each kind at strength s, each from an ordinary host of its own."""
    rng = c.rng
    t0 = c.start + rng.uniform(600, hours * 3600 - 7200)
    tag = lambda kind: (kind, s)  # noqa: E731
    h = attacker()
    victim = "10.0.1.%d" % rng.randint(2, 250)
    for i, port in enumerate(rng.sample(range(1, 10000), int(10 + 90 * s))):
        c.add_conn(t0 + i * 0.8, h, victim, port, dur=0, out=0, inb=0, state=rng.choice(["REJ", "S0", "REJ"]),
                   tag=tag("port_scan"))
    h = attacker()
    for i in range(int(10 + 90 * s)):
        c.add_conn(t0 + i * 1.5, h, "10.0.%d.%d" % (2 + i // 250, i % 250 + 1), 445, dur=0, out=0, inb=0,
                   state=rng.choice(["S0", "S0", "REJ", "SF"]), tag=tag("host_scan"))
    h, c2 = attacker(), ext_ip(rng)
    interval, jitter, size = rng.choice([60, 300, 900]), (1 - s) * 0.5, rng.randint(200, 2000)
    t = t0
    for _ in range(20 + int(60 * s)):
        c.add_conn(t, h, c2, 443, dur=0.2, out=size * (1 + rng.uniform(-jitter, jitter)), inb=rng.randint(100, 400),
                   tag=tag("beaconing"))
        t += interval * (1 + rng.uniform(-jitter, jitter))
    h, zone = attacker(), word(rng) + "x.net"
    for i in range(int(20 + 130 * s)):
        label = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(int(16 + 30 * s)))
        c.add_dns(t0 + i * 2, h, "%s.t.%s" % (label, zone), qtype="TXT", tag=tag("dns_tunnelling"))
    h = attacker()
    for i in range(int(4 + 26 * s)):
        name = "".join(rng.choice("bcdfghjklmnpqrstvwxz0123456789") for _ in range(rng.randint(12, 20)))
        c.add_dns(t0 + i * 3, h, name + rng.choice([".com", ".net", ".info"]), rcode="NXDOMAIN", tag=tag("dga_queries"))
    h = attacker()
    c.add_conn(t0, h, ext_ip(rng), 22, dur=3600 * (0.5 + 4 * s), out=2e6, inb=3e6, tag=tag("long_connection"))
    h = attacker()
    c.add_conn(t0, h, ext_ip(rng), 443, dur=600, out=(5 + 295 * s) * 2**20, inb=1e5, tag=tag("large_transfer"))


def write(path, fields, types, rows, name):
    with open(path, "w") as f:
        f.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t%s\n" % name)
        f.write("#fields\t%s\n#types\t%s\n" % ("\t".join(fields), "\t".join(types)))
        for r in sorted(rows, key=lambda r: r[0]):
            f.write("\t".join(("%.6f" % v) if isinstance(v, float) else str(v) for v in r) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warden", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--hosts", type=int, default=300)
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument("--updaters", type=float, default=0.05, help="share of hosts with an hourly updater")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    c = Capture(rng, 1_780_000_000.0)
    hosts = ["10.0.%d.%d" % (1 + i // 250, 10 + i % 200) for i in range(args.hosts)]
    background(c, hosts, args.hours, args.updaters)
    # Attacks come from ordinary hosts (with their own traffic around them), one host each.
    planted = iter(rng.sample(hosts, len(hosts)))
    attackers = {}
    for s in STRENGTHS:
        def attacker(s=s):
            h = next(planted)
            attackers[h] = s
            return h
        plant(c, attacker, s, args.hours)
    with tempfile.TemporaryDirectory() as d:
        write(os.path.join(d, "conn.log"), CONN_FIELDS, CONN_TYPES, c.conn, "conn")
        write(os.path.join(d, "dns.log"), DNS_FIELDS, DNS_TYPES, c.dns, "dns")
        out = subprocess.run([args.warden, "network", d], capture_output=True, text=True, check=True)
    findings = [json.loads(line) for line in out.stdout.splitlines()]
    found, fp, updater_fp = {}, [], 0
    for f in findings:
        kinds = {c.truth.get(u) for u in f["evidence"]} - {None}
        planted_kind = next((k for k in kinds if k[0] == f["kind"]), None)
        if planted_kind:
            found.setdefault(f["kind"], set()).add(planted_kind[1])
        elif ("updater", None) in kinds:
            updater_fp += 1
        else:
            fp.append(f)
    print("company: %d hosts, %.0f h, %d conn, %d dns records; seed %d" % (
        args.hosts, args.hours, len(c.conn), len(c.dns), args.seed))
    print(out.stderr.strip().splitlines()[0])
    print("%-16s %s" % ("kind", "  ".join("s=%.2f" % s for s in STRENGTHS)))
    for kind in ["port_scan", "host_scan", "beaconing", "dns_tunnelling", "dga_queries", "long_connection",
                 "large_transfer"]:
        row = ["found " if s in found.get(kind, set()) else "missed" for s in STRENGTHS]
        print("%-16s %s" % (kind, "  ".join(row)))
    updaters = sum(1 for _ in {u for u, t in c.truth.items() if t == ("updater", None)})
    print("hourly updaters (benign beacons) reported: %d; other findings on ordinary hosts: %d" % (
        updater_fp, len(fp)))
    for f in fp[:10]:
        print("  FP:", f["kind"], f["source"], f.get("destination"), f["explanation"][:140])
    return 0


if __name__ == "__main__":
    sys.exit(main())
