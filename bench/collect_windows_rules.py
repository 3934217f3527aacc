#!/usr/bin/env python3
"""Copies every Sigma rule whose logsource product is windows from the given roots into one
flat folder (file names kept; a clashing name gets its parent folder as prefix) and prints
how many were copied. Used by hunt_compare.sh and otrf_compare.sh.

Usage: collect_windows_rules.py DEST ROOT...
"""
import os, re, shutil, sys

dest, roots = sys.argv[1], sys.argv[2:]
block_re = re.compile(r"^logsource\s*:\s*(\{.*\})?\s*(#.*)?$")
prod_re = re.compile(r"""^\s+product\s*:\s*['"]?([A-Za-z0-9_.-]+)""")
flow_re = re.compile(r"""product\s*:\s*['"]?([A-Za-z0-9_.-]+)""")

def product(path):
    with open(path, encoding="utf-8", errors="replace") as fh:
        in_block = False
        for line in fh:
            s = line.rstrip("\r\n")
            m = block_re.match(s)
            if m:
                if m.group(1):                       # logsource: {product: windows, ...}
                    f = flow_re.search(m.group(1))
                    return f.group(1).lower() if f else None
                in_block = True
                continue
            if in_block:
                if s and not s[0].isspace() and not s.lstrip().startswith("#"):
                    in_block = False               # next top-level key
                    continue
                m = prod_re.match(s)
                if m:
                    return m.group(1).lower()
    return None

n = 0
for root in roots:
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if not name.lower().endswith((".yml", ".yaml")):
                continue
            src = os.path.join(dirpath, name)
            if product(src) != "windows":
                continue
            target = os.path.join(dest, name)
            if os.path.exists(target):
                target = os.path.join(dest, os.path.basename(dirpath) + "__" + name)
            shutil.copyfile(src, target)
            n += 1
print(n)
