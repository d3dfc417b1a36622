#!/usr/bin/env python3
"""Start-up cost of the hot path, side by side with its floor (DESIGN.md section 9).

    python benchmarks/startup.py [--runs 40] [--json]

Times, in alternating rounds from a neutral working directory, and prints
medians and ratios:
  hot path  python -c "import telemetry_policy as t; t.resolve('demo')"
            (a --root-style tree with a main file and 20 drop-ins)
  floor     python -c "import pluggy, tomllib"
  bare      python -c pass
with no plugin and with one plugin installed (and, with it, the first start
after a plugin is installed or removed); then resolve() in-process with 10,
100 and 1,000 drop-ins: the first call (every file parsed) and repeated calls
(parse results reused for unchanged bytes).
Budget: hot path <= 1.15 x floor.

Wall time on a shared machine drifts; --instructions also counts the CPU
instructions of each command once under valgrind (callgrind), which repeat
exactly for the same inputs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

TOML = "tomllib" if sys.version_info >= (3, 11) else "tomli"
COMMANDS = {
    "hot path": "import telemetry_policy as t; t.resolve('demo')",
    "floor": f"import pluggy, {TOML}",
    "bare": "pass",
}
BUDGET = 1.15
REPO = Path(__file__).resolve().parent.parent


def make_tree(base: Path, dropins: int) -> Path:
    from telemetry_policy.testing import FakeRoot

    root = FakeRoot(base)
    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-in"\n')
    for i in range(dropins):
        tier = ("vendor", "local", "runtime", "admin")[i % 4]
        root.write(
            tier,
            f"policy.d/{i:04d}-pkg.toml",
            f"# drop-in {i}\n[policy]\nupload_delay_days = {i % 30}\n"
            f'[app.app{i}]\nceiling = "local"\n',
        )
    return root.path


def wall(cmd: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True)
    return time.perf_counter() - start


def startup(runs: int, count: bool, plugin: bool) -> dict[str, object]:
    """Wall times (and instruction counts) of the three commands, alternating."""
    with tempfile.TemporaryDirectory() as tmp:
        root = make_tree(Path(tmp) / "tree", 20)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_POLICY")}
        # An installed package has its bytecode compiled; let the warm-up write it.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(HOME=str(Path(tmp) / "tree/home"))
        for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "CI"):
            env.pop(var, None)
        neutral = Path(tmp) / "cwd"
        neutral.mkdir()
        site = Path(tmp) / "site"
        if plugin:
            from telemetry_policy.testing import pip_install

            pip_install(site, REPO / "plugins/telemetry-policy-example")
            env["PYTHONPATH"] = str(site)  # for all three commands alike
        at_slash = [sys.executable, "-c", "import telemetry_policy as t; t.resolve('demo')"]
        wall(at_slash, env, str(neutral))  # a client at / writes the plugin cache
        env["TELEMETRY_POLICY_ROOT"] = str(root)
        cmds = {name: [sys.executable, "-c", code] for name, code in COMMANDS.items()}
        for cmd in cmds.values():  # warm the page cache and check each runs
            wall(cmd, env, str(neutral))
        times: dict[str, list[float]] = {name: [] for name in cmds}
        for _ in range(runs):  # alternate, so drift hits every command alike
            for name, cmd in cmds.items():
                times[name].append(wall(cmd, env, str(neutral)))
        result: dict[str, object] = {
            "wall_ms": {name: statistics.median(t) * 1000 for name, t in times.items()}
        }
        if count:
            result["instructions"] = instructions(env, str(neutral))
        if plugin:
            # Installing or removing a distribution changes its site directory:
            # the next start scans entry points again (and rewrites the cache).
            del env["TELEMETRY_POLICY_ROOT"]
            first, then = [], []
            for i in range(max(5, runs // 4)):
                os.utime(site, ns=(time.time_ns(), time.time_ns() + i))
                first.append(wall(at_slash, env, str(neutral)))
                then.append(wall(at_slash, env, str(neutral)))
            result["after_change_ms"] = {
                "first start": statistics.median(first) * 1000,
                "next start": statistics.median(then) * 1000,
            }
    return result


def instructions(env: dict[str, str], cwd: str) -> dict[str, int]:
    """Instructions each command executes, counted by callgrind (deterministic)."""
    import re
    import shutil

    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    counts = {}
    for name, code in COMMANDS.items():
        out = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                sys.executable,
                "-c",
                code,
            ],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        found = re.search(r"Collected : (\d+)", out)
        if found is None:
            raise SystemExit(f"valgrind printed no instruction count for {name}")
        counts[name] = int(found.group(1))
    return counts


def in_process(sizes: tuple[int, ...] = (10, 100, 1000)) -> dict[int, dict[str, float]]:
    """First resolve() in a process (every file parsed) and repeated ones (files
    re-read and re-checked, parse results reused when the bytes are the same)."""
    from telemetry_policy import plugins, resolve

    now = datetime.now(timezone.utc)
    out = {}
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = make_tree(Path(tmp), n)
            env = {"HOME": tmp}
            resolve("warm-up", root=str(root), environ={"HOME": tmp}, now=now)
            first = []
            for _ in range(5):
                plugins._parsed.clear()
                start = time.perf_counter()
                resolve("demo", root=str(root), environ=env, now=now)
                first.append(time.perf_counter() - start)
            again = []
            for _ in range(7 if n >= 1000 else 21):
                start = time.perf_counter()
                resolve("demo", root=str(root), environ=env, now=now)
                again.append(time.perf_counter() - start)
            out[n] = {
                "first": statistics.median(first) * 1000,
                "repeated": statistics.median(again) * 1000,
            }
    return out


def report(label: str, result: dict[str, Any]) -> None:
    wall_ms = result["wall_ms"]
    ratio = wall_ms["hot path"] / wall_ms["floor"]
    print(f"{label}: wall time, medians")
    for name, ms in wall_ms.items():
        print(f"  {name:<9} {ms:7.1f} ms   {COMMANDS[name]}")
    verdict = "within" if ratio <= BUDGET else "OVER"
    print(f"  hot path / floor = {ratio:.3f}  ({verdict} the {BUDGET}x budget)")
    print(f"  hot path / bare  = {wall_ms['hot path'] / wall_ms['bare']:.3f}")
    counts = result.get("instructions")
    if counts:
        print(
            "  instructions (callgrind): "
            + ", ".join(f"{name} {n / 1e6:.1f} M" for name, n in counts.items())
        )
        print(f"  hot path / floor = {counts['hot path'] / counts['floor']:.3f} (instructions)")
    after = result.get("after_change_ms")
    if after:
        print(
            f"  after a plugin is installed or removed: first start {after['first start']:.1f}"
            f" ms (entry points scanned), next start {after['next start']:.1f} ms (cached)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="rounds of each command")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count instructions with valgrind (slow, exact)",
    )
    args = parser.parse_args()
    results = {
        "no plugin": startup(args.runs, args.instructions, plugin=False),
        "one plugin": startup(args.runs, args.instructions, plugin=True),
    }
    resolve_ms = in_process()
    if args.json:
        print(
            json.dumps(
                {
                    "python": sys.version.split()[0],
                    "runs": args.runs,
                    "budget": BUDGET,
                    "startup": results,
                    "resolve_ms": resolve_ms,
                },
                indent=2,
            )
        )
        return 0
    print(f"Python {sys.version.split()[0]}, {args.runs} alternating runs, 20 drop-ins")
    report("No plugin installed", results["no plugin"])
    report("One plugin installed (telemetry-policy-example)", results["one plugin"])
    print("resolve() in-process, median   first call   repeated")
    for n, ms in resolve_ms.items():
        print(f"  {n:>5} drop-ins              {ms['first']:8.2f} ms {ms['repeated']:8.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
