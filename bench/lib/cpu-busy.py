#!/usr/bin/env python3
"""Prints "cpuN busy%" for each CPU over the interval since the previous call, from /proc/stat.

usage: cpu-busy.py STATE_FILE   (the file keeps the counters between calls; the first call prints nothing)
Shared by the bench/*-compare.sh scripts.
"""
import os
import sys

path = sys.argv[1]
now = {l.split()[0]: list(map(int, l.split()[1:])) for l in open('/proc/stat') if l.startswith('cpu') and l[3] != ' '}
prev = {}
if os.path.exists(path):
    for l in open(path):
        p = l.split()
        prev[p[0]] = list(map(int, p[1:]))
with open(path, 'w') as f:
    for k, v in now.items():
        f.write(k + ' ' + ' '.join(map(str, v)) + '\n')
out = []
for k, v in sorted(now.items()):
    if k in prev:
        d = [a - b for a, b in zip(v, prev[k])]
        tot = sum(d) or 1
        out.append(f"{k} {100 * (tot - d[3] - d[4]) / tot:.0f}%")
print(' '.join(out))
