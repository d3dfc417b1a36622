#!/usr/bin/env python3
"""What a large policy costs the commands that decide every app at once.

    python benchmarks/policy_size.py [--sizes 10,100,1000] [--runs 3]

For each size N, a root with N drop-ins, each naming its own app
(``[app.appNNNN] ceiling = "local"``) and every tenth also setting the global
upload delay, and it times (median of --runs, whole processes):

  apply           telemetry-policy --root R apply    (writes the back-ends and the snapshot)
  apply --check   telemetry-policy --root R apply --check
  audit           telemetry-policy --root R audit --json
  programs        telemetry-policy --root R audit --programs --json

Every decision of one command comes from one reading of the policy
(``api.Inputs``, ``precedence.LayerIndex``): the cost should grow linearly
with N. Printed, not asserted (a shared machine's timings drift).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = {
    "apply": ["apply"],
    "apply --check": ["apply", "--check"],
    "audit": ["audit", "--json"],
    "programs": ["audit", "--programs", "--json"],
}


def make_root(base: Path, n: int) -> Path:
    root = base / f"root-{n}"
    dropins = root / "etc/telemetry-policy/policy.d"
    dropins.mkdir(parents=True)
    for d in [root, *root.rglob("*")]:
        d.chmod(0o755)
    for i in range(n):
        text = f'[app.app{i:04d}]\nceiling = "local"\n'
        if i % 10 == 0:
            text = f"[policy]\nupload_delay_days = {i % 30}\n" + text
        (dropins / f"{i:04d}-app.toml").write_text(text)
    return root


def timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    p = subprocess.run(args, env=env, capture_output=True, cwd="/")
    elapsed = time.perf_counter() - started
    if p.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)}: exit {p.returncode}: {p.stderr.decode()[:300]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    cli = [sys.executable, "-m", "telemetry_policy.cli"]
    print(f"{'N':>6}  " + "  ".join(f"{name:>14}" for name in COMMANDS) + "   (seconds, median)")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            root = make_root(Path(tmp), n)
            row = []
            for words in COMMANDS.values():
                runs = [timed([*cli, "--root", str(root), *words], env) for _ in range(args.runs)]
                row.append(statistics.median(runs))
            print(f"{n:>6}  " + "  ".join(f"{t:>14.2f}" for t in row))


if __name__ == "__main__":
    main()
