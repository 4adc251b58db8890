#!/usr/bin/python3
"""Cold-start probe: polls SOCKET with POST /Plugin.Activate until it answers 200 with "Implements",
then prints the milliseconds since the epoch time written (by the launcher, just before exec) in T0FILE.
usage: probe_activate.py SOCKET T0FILE [TIMEOUT_S]"""
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unixhttp import post  # noqa: E402

sock, t0file = sys.argv[1], sys.argv[2]
deadline = time.time() + float(sys.argv[3] if len(sys.argv) > 3 else 30)
while True:
    try:
        status, body = post(sock, "Plugin.Activate", None, timeout=2.0)
        if status == 200 and isinstance(body, dict) and "Implements" in body:
            t1 = time.time()
            break
    except OSError:
        pass
    if time.time() > deadline:
        print("timeout", file=sys.stderr)
        sys.exit(1)
    time.sleep(0.002)
while not os.path.exists(t0file) or os.path.getsize(t0file) == 0:
    if time.time() > deadline:
        print("no t0", file=sys.stderr)
        sys.exit(1)
    time.sleep(0.01)
with open(t0file) as f:
    t0 = float(f.read().strip())
print("%.1f" % ((t1 - t0) * 1000.0))
