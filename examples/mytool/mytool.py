#!/usr/bin/env python3
"""mytool: counts the words of files, and collects usage only as the system
and its user allow.

The lines that ask telemetry-policy are numbered; docs/authors.md walks
through them. Usage events are kept in ``$XDG_STATE_HOME/mytool/usage.jsonl``;
"uploading" (this is an example) moves them to ``sent.jsonl`` beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import telemetry_policy as tp  # 1: cheap to import; nothing is read yet

APP = "mytool"  # 2: the name the policy files and the user's `set` use


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / APP


def record(event: dict[str, object]) -> None:
    decision = tp.resolve(APP, app_default="local")  # 3: never raises for bad policy
    if not decision.may_collect:  # 4: off: collect nothing at all
        return
    state_dir().mkdir(parents=True, exist_ok=True)
    with (state_dir() / "usage.jsonl").open("a") as f:
        f.write(json.dumps(event) + "\n")
    if decision.may_upload:  # 5: on, and the user had upload_delay_days to change their mind
        upload()


def upload() -> None:
    usage, sent = state_dir() / "usage.jsonl", state_dir() / "sent.jsonl"
    with sent.open("a") as f:
        f.write(usage.read_text())
    usage.unlink()


def telemetry(action: str) -> int:
    """``mytool telemetry on|local|off|status``."""
    if action == "status":
        print(tp.resolve(APP, app_default="local").explain())  # 6: where each value came from
        return 0
    try:
        decision = tp.set_mode(APP, action)  # 7: the user's choice, within the ceiling
    except tp.PolicyError as e:  # 8: above the ceiling (RefusedError), or no home to keep it
        print(f"mytool: {e}", file=sys.stderr)
        return 1
    print(f"mytool: telemetry {decision.mode}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mytool", description="Count the words of files.")
    sub = parser.add_subparsers(dest="command", required=True)
    count = sub.add_parser("count", help="count the words of files")
    count.add_argument("files", nargs="*", type=Path)
    choice = sub.add_parser("telemetry", help="your telemetry choice, or its status")
    choice.add_argument("action", choices=["on", "local", "off", "status"])
    args = parser.parse_args(argv)
    if args.command == "telemetry":
        return telemetry(args.action)
    print(sum(len(path.read_text().split()) for path in args.files))
    record({"command": "count", "files": len(args.files)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
