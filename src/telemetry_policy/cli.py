"""The ``telemetry-policy`` command: one function per command (the parser is
``cliparser``). Every error is one line; exit 0 fine, 1 problems found, 2 usage
error."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .cliparser import build_parser
from .errors import PolicyError, UsageError, one_line

__all__ = ["main"]


class Call:
    """What every command is given: its arguments, the root prefix (normalised:
    ``/img/`` and ``/img`` are one root, and one snapshot), the environment."""

    def __init__(self, args: argparse.Namespace, environ: Mapping[str, str]) -> None:
        self.args = args
        self.environ = environ
        root = args.root or environ.get("TELEMETRY_POLICY_ROOT") or "/"
        if args.root is not None and not os.path.isdir(args.root):
            raise UsageError(f"--root {args.root}: not a directory")
        if os.geteuid() == 0 and args.command in ("apply", "export"):
            # root writes: the prefix only from --root, never inherited (sudo -E), and
            # never through a link someone else could point elsewhere
            root = args.root or "/"
            if root != "/" and os.path.realpath(root) != os.path.normpath(os.path.abspath(root)):
                raise UsageError(f"--root {root}: holds a symlink; give the real path")
        self.root = os.path.normpath(root) if root.startswith("/") else root

    @property
    def now(self) -> datetime:
        from .clock import current_time

        return current_time(self.environ, self.root)


def _dump(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False))


def _say(line: object = "", err: bool = False) -> None:
    """Print one line, its control characters escaped: a file name or a plugin's
    message can never print a line of its own."""
    print(one_line(str(line)), file=sys.stderr if err else sys.stdout)


def _report(errors: Sequence[str]) -> None:
    for error in errors:
        _say(f"telemetry-policy: {one_line(error)}", err=True)


# --- The commands.


def paths(c: Call) -> int:
    from .locations import search_paths
    from .paths import state_path, store_path

    for tier, path in search_paths(c.root):
        _say(f"{tier:<8} {path}")
    _say(f"{'user':<8} {store_path(c.environ)}")
    _say(f"{'state':<8} {state_path(c.environ)}")
    return 0


def resolve(c: Call) -> int:
    from .inputs import evaluate

    args = c.args
    d = evaluate(
        args.app, app_default=args.app_default, root=c.root, environ=c.environ, record=args.record
    )
    _report(d.errors)
    if args.json:
        _dump(d.as_dict())
    else:
        _say(d.mode)
    return 0


def audit(c: Call) -> int:
    if c.args.programs:
        return _audit_programs(c)
    if c.args.all or c.args.user or c.args.ask:
        raise UsageError("--all, --user and --ask go with audit --programs")
    from .audit import as_json, as_text, run_audit
    from .inputs import check_app

    decisions = run_audit(check_app(c.args.app), root=c.root, environ=c.environ)
    if c.args.json:
        _dump(as_json(decisions, c.root))
    else:
        print(as_text(decisions, c.root))  # its lines were escaped one by one
    return 1 if any(d.errors for d in decisions) else 0


def _audit_programs(c: Call) -> int:
    from .compliance import as_text, survey

    if c.args.app:
        raise UsageError("audit --programs takes no APP")
    args = c.args
    found, errors = survey(
        c.root, c.environ, c.now, user=args.user, everything=args.all, asking=args.ask
    )
    if c.args.json:
        view = "user" if c.args.user else "system"
        _dump({"schema": 1, "root": c.root, "view": view, "judged": "catalogued programs only",
               "programs": [f.as_dict() for f in found], "errors": errors})  # fmt: skip
    else:
        print(as_text(found))  # its lines were escaped one by one
    _report(errors)
    return 1 if errors or any(f.installed and f.complies is False for f in found) else 0


def validate(c: Call) -> int:
    from .policyfile import parse_policy
    from .policymodel import MAX_SIZE

    results = []
    for path in c.args.files:
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_SIZE + 1)
            parse_policy(data, path)
            results.append({"path": path, "valid": True})
        except PolicyError as e:
            results.append({"path": path, "valid": False, "error": str(e)})
        except OSError as e:
            results.append({"path": path, "valid": False, "error": f"{path}: {e.strerror}"})
    if c.args.json:
        _dump({"schema": 1, "files": results})
    else:
        for r in results:
            _say(f"{r['path']}: ok" if r["valid"] else r["error"], err=not r["valid"])
    return 0 if all(r["valid"] for r in results) else 1


def set_(c: Call) -> int:
    """``set`` and ``unset``."""
    from .inputs import set_mode
    from .model import Mode
    from .paths import store_path

    args = c.args
    words = 2 if args.command == "set" else 1
    if len(args.words) != (words - 1 if args.all else words):
        form = "(APP | --all) MODE" if args.command == "set" else "(APP | --all)"
        raise UsageError(f"{args.command} takes {form}")
    app, rest = (None, args.words) if args.all else (args.words[0], args.words[1:])
    mode = rest[0] if rest else None
    if mode is not None and mode not in ("off", "local", "on"):
        raise UsageError(f"unknown mode {mode!r}: use off, local or on")
    d = set_mode(app, mode, root=c.root, environ=c.environ, now=c.now)
    where = f" in {store_path(c.environ)}"
    if c.root != "/":  # your own store, checked against the ceiling of that image
        where += f", within the ceiling under {c.root}"
    what = app or "all apps"
    now = f"mode now {d.mode}"
    if mode is not None and d.mode < Mode.parse(mode):
        step = next(t for t in d.trace if t.key == "mode")
        now += f" ({step.note or 'from ' + str(step.origin)})"  # DO_NOT_TRACK, a plugin's cap
    verb = f"chose {mode}" if mode else "choice removed"
    _say(f"telemetry-policy {args.command}: {what}: {verb}{where}; {now}")
    return 0


def apply(c: Call) -> int:
    from .apply import apply, summary

    args = c.args
    if args.check and args.undo:
        raise UsageError("apply: --check and --undo do not go together; choose one")
    if c.root == "/" and os.geteuid() != 0 and not args.check:
        raise UsageError(
            "apply writes system files: run it as root (sudo telemetry-policy apply), "
            "or give --root DIR to write into an image"
        )
    outcome = apply(c.root, c.environ, c.now, check=args.check, undo=args.undo)
    if args.json:
        _dump({
            "schema": 1, "root": c.root, "check": args.check, "undo": args.undo,
            "changes": [x.as_dict() for x in outcome.changes], "current": list(outcome.current),
            "manifest": outcome.manifest, "errors": list(outcome.errors),
        })  # fmt: skip
    else:
        for x in outcome.changes:
            what = ", ".join(x.keys) if x.keys else ""
            _say(f"{x.action}: {x.path}" + (f"  ({what})" if what else ""))
        for note in outcome.notes:
            _say(note)
        _say(summary(outcome, args.check, args.undo))
    _report(outcome.errors)
    drift = args.check and any(x.drift for x in outcome.changes)
    return 1 if outcome.errors or drift else 0


def session(c: Call) -> int:
    """``session`` and ``sync --user go``: a login's answer never comes from what
    it inherited, so only ``--root`` moves it."""
    from .session import session, undo

    args = c.args
    if args.command == "sync" and not args.user:
        raise UsageError("sync works on your own settings: sync --user go")
    if getattr(args, "undo", False):
        for line in undo(c.environ):
            _say(f"# {line}")
        return 0
    fmt = getattr(args, "format", "sh")
    go = not getattr(args, "no_go", False)
    text, lines, errors, changed = session(
        args.root or "/", c.environ, c.now, fmt, go=go, check=args.check
    )
    if args.command == "session":
        sys.stdout.write(text)
        for line in lines:
            _say(f"# {line}")
    else:
        for line in lines:
            _say(line)
    _report(errors)
    return 1 if errors or (args.check and changed) else 0


def export(c: Call) -> int:
    from .export import export
    from .plans import system_plans

    args = c.args
    if args.check and not args.output:
        raise UsageError("--check compares with a file: give --output")
    found, errors = system_plans(c.root, c.environ, c.now)
    text, changes = export(args.format, found, args.output, args.check)
    sys.stdout.write(text)
    for change in changes:
        _say(f"{change.action}: {change.path}")
    _report(errors)
    return 1 if errors or any(x.drift for x in changes) else 0


COMMANDS: dict[str, Callable[[Call], int]] = {
    "paths": paths,
    "resolve": resolve,
    "audit": audit,
    "validate": validate,
    "set": set_,
    "unset": set_,
    "apply": apply,
    "session": session,
    "sync": session,
    "export": export,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``telemetry-policy`` console script."""
    for stream in (sys.stdout, sys.stderr):  # file names need not be UTF-8
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](Call(args, os.environ))
    except UsageError as e:
        _say(f"telemetry-policy: {one_line(str(e))}", err=True)
        return 2
    except PolicyError as e:
        _say(f"telemetry-policy: {one_line(str(e))}", err=True)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
