#!/usr/bin/env python3
"""What asking telemetry-policy costs a program's start (docs/authors.md).

    python benchmarks/startup.py [--runs 40] [--instructions] [--json]

Run it with each interpreter to measure (the Python 3.10 figures come from a
3.10 venv with tomli). In alternating rounds from a neutral working directory,
on a tree with a main file and 20 drop-ins whose snapshot is compiled (as
``apply`` leaves it), it times, and reports medians and ratios:

  bare           python -c pass
  by hand        a hand-written check (DO_NOT_TRACK and one variable)
  hot path       import telemetry_policy; resolve("demo")
  with store     the same for a user who made choices (set --all local)
  no snapshot    the same before ``apply`` compiled the snapshot
  no policy      the same with no policy directory at all (a dependency nobody configured)
  floor          python -c "import pluggy, tomllib"
  cli / cli+tp   a realistic argparse tool (argparse, json, re, pathlib, typing,
                 logging, subprocess imported; a parser with subcommands)
                 checking by hand, and asking resolve() instead

then the hot path and the floor with one plugin installed, and resolve()
in-process with 10, 100 and 1,000 drop-ins.

Budgets (the report marks each, on the worse of wall time and instructions):
hot path <= 1.15 x bare; cli+tp <= 1.04 x cli; with a plugin, hot path <=
1.15 x floor; no policy <= 1.10 x bare; no snapshot <= 1.5 x bare. Wall time
on a shared machine drifts; --instructions
also counts each command's CPU instructions once under valgrind (callgrind),
which repeat exactly.
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
REPO = Path(__file__).resolve().parent.parent
BY_HAND = (
    "import os\n"
    "def may_collect():\n"
    "    if os.environ.get('DO_NOT_TRACK', '') not in ('', '0', 'false'):\n"
    "        return False\n"
    "    return os.environ.get('MYTOOL_TELEMETRY', 'local') != 'off'\n"
)
WITH_POLICY = (
    "def may_collect():\n"
    "    import telemetry_policy\n"
    "    return telemetry_policy.resolve('mytool', app_default='local').may_collect\n"
)
CLI = """\
import argparse, json, logging, re, subprocess
from pathlib import Path
from typing import Optional, Sequence
{check}
def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="mytool", description="count words")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    count = sub.add_parser("count", help="count the words of files")
    count.add_argument("files", nargs="*", type=Path)
    telemetry = sub.add_parser("telemetry", help="your telemetry choice")
    telemetry.add_argument("action", choices=["on", "off", "status"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    words = sum(len(re.findall(r"\\w+", f.read_text())) for f in args.files)
    if may_collect():
        logging.debug(json.dumps({{"command": args.command, "words": words}}))
    return 0

raise SystemExit(main(["count"]))
"""
BUDGETS = {
    "hot path / bare": 1.15,
    "cli+tp / cli": 1.04,
    "hot path / floor (plugin)": 1.15,
    "no policy / bare": 1.10,
    "no snapshot / bare": 1.5,
}


def make_tree(base: Path, dropins: int, snapshot: bool = True) -> Path:
    from telemetry_policy.testing import FakeRoot

    root = FakeRoot(base)
    root.write("vendor", "policy.toml", '[policy]\npreset = "local-first"\n')
    for i in range(dropins):
        tier = ("vendor", "local", "runtime", "admin")[i % 4]
        root.write(
            tier,
            f"policy.d/{i:04d}-pkg.toml",
            f"# drop-in {i}\n[policy]\nupload_delay_days = {i % 30}\n"
            f'[app.app{i}]\nceiling = "local"\n',
        )
    if snapshot:
        root.compile()
    return root.path


def wall(cmd: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True)
    return time.perf_counter() - start


def instructions(cmd: list[str], env: dict[str, str], cwd: str) -> int:
    """Instructions ``cmd`` executes, counted by callgrind (deterministic)."""
    import re

    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
        env=env, cwd=cwd, capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    found = re.search(r"Collected : (\d+)", out)
    if found is None:
        raise SystemExit(f"valgrind printed no instruction count for {cmd}")
    return int(found.group(1))


def measure(
    cmds: dict[str, tuple[list[str], dict[str, str]]], runs: int, count: bool, cwd: str
) -> dict[str, Any]:
    for cmd, env in cmds.values():  # warm the page cache, write bytecode and caches
        wall(cmd, env, cwd)
        wall(cmd, env, cwd)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):  # alternate, so drift hits every command alike
        for name, (cmd, env) in cmds.items():
            times[name].append(wall(cmd, env, cwd))
    result: dict[str, Any] = {
        "wall_ms": {name: statistics.median(t) * 1000 for name, t in times.items()}
    }
    if count:
        result["instructions"] = {
            name: instructions(cmd, env, cwd) for name, (cmd, env) in cmds.items()
        }
    return result


def startup(runs: int, count: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_POLICY")}
        for var in ("PYTHONDONTWRITEBYTECODE", "DO_NOT_TRACK", "XDG_CONFIG_HOME",
                    "XDG_STATE_HOME", "XDG_CACHE_HOME", "CI"):  # fmt: skip
            env.pop(var, None)
        env["HOME"] = str(base / "home")
        (base / "home").mkdir()
        store = base / "home-store/.config/telemetry-policy/user.toml"
        store.parent.mkdir(parents=True)
        store.write_text('[all]\nmode = "local"\n\n[app.other]\nmode = "off"\n')
        neutral = base / "cwd"
        neutral.mkdir()
        with_snapshot = env | {"TELEMETRY_POLICY_ROOT": str(make_tree(base / "tree", 20))}
        without = env | {"TELEMETRY_POLICY_ROOT": str(make_tree(base / "raw", 20, False))}
        (base / "empty").mkdir()
        nothing = env | {"TELEMETRY_POLICY_ROOT": str(base / "empty")}
        py = sys.executable
        for name, check in (("cli.py", BY_HAND), ("cli+tp.py", WITH_POLICY)):
            (base / name).write_text(CLI.format(check=check))
        hot = "import telemetry_policy as t; t.resolve('demo')"
        cmds = {
            "bare": ([py, "-c", "pass"], with_snapshot),
            "by hand": ([py, "-c", BY_HAND + "may_collect()"], with_snapshot),
            "hot path": ([py, "-c", hot], with_snapshot),
            "with store": ([py, "-c", hot], with_snapshot | {"HOME": str(base / "home-store")}),
            "no snapshot": ([py, "-c", hot], without),
            "no policy": ([py, "-c", hot], nothing),
            "floor": ([py, "-c", f"import pluggy, {TOML}"], with_snapshot),
            "cli": ([py, str(base / "cli.py")], with_snapshot),
            "cli+tp": ([py, str(base / "cli+tp.py")], with_snapshot),
        }
        alone = measure(cmds, runs, count, str(neutral))
        from telemetry_policy.testing import pip_install

        site = pip_install(base / "site", REPO / "plugins/telemetry-policy-example")
        plugged = with_snapshot | {"PYTHONPATH": str(site)}
        plugin = measure(
            {"hot path": ([py, "-c", hot], plugged),
             "floor": ([py, "-c", f"import pluggy, {TOML}"], plugged)},
            runs, count, str(neutral),
        )  # fmt: skip
    return {"alone": alone, "one plugin": plugin}


def in_process(sizes: tuple[int, ...] = (10, 100, 1000)) -> dict[int, dict[str, float]]:
    """resolve() in one process: with the snapshot, and reading every file
    (first call: every file parsed; repeated: parse results reused)."""
    from telemetry_policy import locations, resolve

    now = datetime.now(timezone.utc)
    out = {}
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"HOME": tmp}
            row = {}
            for label, snapshot in (("snapshot", True), ("files", False)):
                root = str(make_tree(Path(tmp) / label, n, snapshot))
                resolve("warm-up", root=root, environ=env, now=now)
                first, again = [], []
                for _ in range(3 if n >= 1000 else 7):
                    locations._parsed.clear()
                    start = time.perf_counter()
                    resolve("demo", root=root, environ=env, now=now)
                    first.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    resolve("demo", root=root, environ=env, now=now)
                    again.append(time.perf_counter() - start)
                row[f"{label} first"] = statistics.median(first) * 1000
                row[f"{label} repeated"] = statistics.median(again) * 1000
            out[n] = row
    return out


def ratios(result: dict[str, Any], key: str) -> dict[str, float]:
    a, p = result["alone"][key], result["one plugin"][key]
    return {
        "hot path / bare": a["hot path"] / a["bare"],
        "cli+tp / cli": a["cli+tp"] / a["cli"],
        "hot path / floor (plugin)": p["hot path"] / p["floor"],
        "by hand / bare": a["by hand"] / a["bare"],
        "with store / hot path": a["with store"] / a["hot path"],
        "no snapshot / bare": a["no snapshot"] / a["bare"],
        "no policy / bare": a["no policy"] / a["bare"],
    }


def report(result: dict[str, Any]) -> None:
    counted = "instructions" in result["alone"]
    for key, title in (
        ("alone", "Alone and in a realistic argparse CLI (20 drop-ins, snapshot compiled):"),
        ("one plugin", "With one plugin installed (telemetry-policy-example):"),
    ):
        print(title)
        for name, ms in result[key]["wall_ms"].items():
            line = f"  {name:<12} {ms:7.1f} ms"
            if counted:
                line += f"  {result[key]['instructions'][name] / 1e6:7.1f} M instructions"
            print(line)
    walls = ratios(result, "wall_ms")
    counts = ratios(result, "instructions") if counted else {}
    print("Ratios (wall" + (", instructions" if counted else "") + "), budget:")
    for name, value in walls.items():
        budget = BUDGETS.get(name)
        line = f"  {name:<26} {value:6.3f}"
        if counted:
            line += f"  {counts[name]:6.3f}"
        if budget:
            worst = max(value, counts.get(name, 0))
            line += f"   <= {budget}: {'within' if worst <= budget else 'OVER'}"
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="rounds of each command")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions (valgrind)"
    )
    args = parser.parse_args()
    result = startup(args.runs, args.instructions)
    resolve_ms = in_process()
    if args.json:
        print(json.dumps({"python": sys.version.split()[0], "runs": args.runs,
                          "startup": result, "resolve_ms": resolve_ms}, indent=2))  # fmt: skip
        return 0
    print(f"Python {sys.version.split()[0]}, {args.runs} alternating runs, medians")
    report(result)
    print("resolve() in-process, median ms    snapshot: first  repeated   files: first  repeated")
    for n, ms in resolve_ms.items():
        print(
            f"  {n:>5} drop-ins                        {ms['snapshot first']:8.2f} "
            f"{ms['snapshot repeated']:8.2f}        {ms['files first']:8.2f} "
            f"{ms['files repeated']:8.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
