"""8 processes x 100 set/unset at once, on their own apps and on one shared app,
while another process reads the store as fast as it can.

The store must always be valid TOML (a reader never sees a half-written
file), no process's update to its own app may be lost, and the shared app
must end as one of the processes' last operations left it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from telemetry_policy.userstore import load_store

WORKERS = 8
OPERATIONS = 100
MODES = ("off", "local", "on")


def operation(worker: int, k: int) -> tuple[str, str | None]:
    """Worker ``worker``'s ``k``-th operation: (app, mode or None to unset)."""
    app = f"app{worker}" if k % 2 == 0 else "shared"
    mode = None if (k + worker) % 5 == 4 else MODES[(k + worker) % 3]
    return app, mode


WORKER = """
import os, sys, time
from datetime import datetime, timezone
sys.path.insert(0, {tests!r})
from test_concurrency import OPERATIONS, operation
from telemetry_policy import set_mode
worker, root, start = int(sys.argv[1]), sys.argv[2], sys.argv[3]
while not os.path.exists(start):
    time.sleep(0.001)
for k in range(OPERATIONS):
    app, mode = operation(worker, k)
    set_mode(app, mode, root=root, now=datetime.now(timezone.utc))
"""

READER = """
import json, os, sys, time
try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
path, start, stop = sys.argv[1:4]
reads = invalid = missing = 0
while not os.path.exists(start):
    time.sleep(0.001)
while not os.path.exists(stop):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        missing += 1
        continue
    reads += 1
    try:
        tomllib.loads(data.decode())
    except Exception:
        invalid += 1
print(json.dumps({"reads": reads, "invalid": invalid, "missing": missing}))
"""


def test_eight_processes_hundred_updates_each(root, tmp_path):
    tests = __file__.rsplit("/", 1)[0]
    root.write("vendor", "policy.d/10-vendor.toml", '[policy]\npreset = "opt-out"\n')
    env = root.environ()
    store = root.user_store
    store.parent.mkdir(parents=True)
    store.write_text("schema = 1\n")  # readers start on a valid file
    start, stop = tmp_path / "start", tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(store), str(start), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER.format(tests=tests), str(i), str(root.path), str(start)],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(WORKERS)
    ]
    began = time.monotonic()
    start.touch()
    errors = [w.communicate(timeout=300)[1] for w in workers]
    took = time.monotonic() - began
    stop.touch()
    seen = json.loads(reader.communicate(timeout=60)[0])
    assert all(w.returncode == 0 for w in workers), errors
    assert seen["reads"] > 0
    assert (seen["invalid"], seen["missing"]) == (0, 0), seen

    final = load_store(str(store))  # valid, and what each process left
    lost = 0
    for i in range(WORKERS):
        app, mode = operation(i, max(k for k in range(OPERATIONS) if k % 2 == 0))
        got = final.apps.get(app)
        lost += (got.mode.name.lower() if got else None) != mode
    assert lost == 0
    last_shared = {operation(i, OPERATIONS - 1)[1] for i in range(WORKERS)}
    shared = final.apps.get("shared")
    assert (shared.mode.name.lower() if shared else None) in last_shared
    print(
        f"\n{WORKERS} x {OPERATIONS} set/unset in {took:.1f} s; reader: {seen['reads']} reads, "
        f"{seen['invalid']} invalid, {seen['missing']} missing; lost updates: {lost}"
    )
