#!/usr/bin/env python3
"""What the login hook costs a login: ``su - USER -c true`` with and without it.

    python3 benchmarks/login.py [--root DIR] [--users bob,alice] [--runs 30]

Run as root on a system (or in a root, entered with chroot) where the
telemetry-policy package is installed and ``telemetry-policy apply`` has run.
For each user, in alternating rounds, it times a login shell with
/etc/profile.d/telemetry-policy.sh in place and moved aside, and prints the
medians and the difference. A user who has made no choice of their own takes
the shell-only path; one with a user store starts ``telemetry-policy session``.
packaging/debian-test runs it in its bookworm root (bob: no choice; alice: set
--all on). Only the standard library: it runs with the system's python3.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HOOK = "etc/profile.d/telemetry-policy.sh"


def login(root: str, user: str) -> float:
    cmd = ["su", "-", user, "-c", "true"]
    if root != "/":
        cmd = ["chroot", root, *cmd]
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8"}
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(root: str, user: str, runs: int) -> tuple[float, float]:
    hook = os.path.join(root, HOOK)
    aside = hook + ".benchmark-off"
    times: dict[bool, list[float]] = {True: [], False: []}
    try:
        for _ in range(2):  # warm the page cache both ways
            login(root, user)
        for _ in range(runs):
            for with_hook in (True, False):  # alternate, so drift hits both alike
                if not with_hook:
                    os.rename(hook, aside)
                try:
                    times[with_hook].append(login(root, user))
                finally:
                    if not with_hook:
                        os.rename(aside, hook)
    finally:
        if os.path.exists(aside):
            os.rename(aside, hook)
    return statistics.median(times[True]) * 1000, statistics.median(times[False]) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="/", help="the root to log into (chroot)")
    parser.add_argument("--users", default="bob,alice", help="comma-separated login names")
    parser.add_argument("--runs", type=int, default=30, help="rounds per user")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("login.py: run as root (it uses su and moves the hook aside)", file=sys.stderr)
        return 2
    if not os.path.exists(os.path.join(args.root, HOOK)):
        print(f"login.py: no {HOOK} under {args.root}: install the package", file=sys.stderr)
        return 2
    print(f"su - USER -c true, {args.runs} alternating rounds, medians (root {args.root})")
    for user in args.users.split(","):
        store = subprocess.run(
            ["chroot", args.root, "su", "-", user, "-c",
             'test -e "${XDG_CONFIG_HOME:-$HOME/.config}/telemetry-policy/user.toml"'],
            check=False,
        ).returncode == 0  # fmt: skip
        kind = "has a user store: telemetry-policy session" if store else "no choice: shell only"
        with_hook, without = measure(args.root, user, args.runs)
        print(
            f"  {user:<8} ({kind}): with the hook {with_hook:6.1f} ms, without {without:6.1f} ms,"
            f" the hook costs {with_hook - without:+6.1f} ms ({with_hook / without:.2f}x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
