"""The ``telemetry-policy`` command. Every error is one line; exit 0 fine,
1 problems found, 2 usage error."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from . import __version__
from .errors import PolicyError, UsageError, one_line

# The sections after the options, in --help and in the man page (FILES,
# ENVIRONMENT, EXIT STATUS): (title, ((term, text), ...)).
SECTIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "files",
        (
            ("/usr/lib/telemetry-policy/", "vendor policy (packages install here)"),
            ("/usr/local/lib/telemetry-policy/", "locally installed software"),
            ("/run/telemetry-policy/", "runtime policy"),
            ("/etc/telemetry-policy/", "admin policy (highest precedence)"),
            (
                "$XDG_CONFIG_HOME/telemetry-policy/user.toml",
                "your own choices (set/unset), default ~/.config",
            ),
            (
                "$XDG_STATE_HOME/telemetry-policy/state.toml",
                "when the mode became on, for the upload delay",
            ),
            (
                "/var/lib/telemetry-policy/manifest.json",
                "what apply wrote, so that it can take it back",
            ),
            (
                "/var/lib/telemetry-policy/session/",
                "what apply precomputed for logins of users without a choice",
            ),
            (
                "/var/cache/telemetry-policy/policy.snapshot",
                "the policy as apply found it, which programs answer from while it is "
                "current (a cache: a stale one is ignored)",
            ),
            ("/etc/profile.d/telemetry-policy.sh", "login shells: run the session hook"),
        ),
    ),
    (
        "environment",
        (
            ("TELEMETRY_POLICY_ROOT", "root prefix, as --root"),
            ("TELEMETRY_POLICY_MODE", "your choice for every app: off, local or on"),
            (
                "DO_NOT_TRACK",
                "set (not empty, 0 or false): nothing leaves the machine, so the mode "
                "is at most local",
            ),
            (
                "TELEMETRY_POLICY_DISABLE_PLUGINS",
                "plugins not to load (name,...): telemetry is then off, "
                "as what they would decide is unknown",
            ),
        ),
    ),
    ("exit status", (("0", "fine"), ("1", "problems found"), ("2", "usage error"))),
)

POLICY_DIRECTORIES = (
    "Each policy directory holds policy.toml (only the highest copy counts) and "
    "policy.d/*.toml drop-ins (applied by file name; a higher same-named file, an "
    "empty file or a symlink to /dev/null replaces or masks a lower one)."
)


def _epilog() -> str:
    import textwrap

    out = []
    for title, items in SECTIONS:
        out.append(f"{title}:")
        width = min(max(len(term) for term, _ in items) + 2, 24)
        for term, text in items:
            lines = textwrap.wrap(text, 76 - width)
            if len(term) + 2 > width:  # a long term gets a line of its own
                out.append(f"  {term}")
            else:
                out.append(f"  {term:<{width}}{lines.pop(0)}")
            out.extend(" " * (width + 2) + line for line in lines)
        if title == "files":
            out.extend(
                textwrap.wrap(POLICY_DIRECTORIES, 78, initial_indent="  ", subsequent_indent="  ")
            )
        out.append("")
    return "\n".join(out)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + error
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to generate the man page)."""
    parser = _Parser(
        prog="telemetry-policy",
        description="Resolve and explain the system's telemetry policy: what the "
        "distribution and the admin allow, and what you chose within it.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--root",
        metavar="DIR",
        help="read system policy under DIR (an image), as systemctl --root",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser(
        "resolve",
        help="print the mode for APP (off, local or on)",
        description="Print the mode APP may use. Exit 0 whenever a mode could "
        "be decided, including a fail-closed off; problems go to stderr.",
    )
    p.add_argument("app", metavar="APP", help="the program asking, as named in policy (e.g. go)")
    p.add_argument(
        "--app-default",
        metavar="MODE",
        choices=("off", "local", "on"),
        help="the program's own default when the user made no choice",
    )
    p.add_argument("--json", action="store_true", help="print the decision as JSON")
    p.add_argument(
        "--record",
        action="store_true",
        help="keep the date APP's telemetry first became on, as the library does, so "
        "its upload delay can end (for programs that ask through this command)",
    )

    p = sub.add_parser(
        "audit",
        help="show every policy path, value origin and the decision",
        description="Show the platform, every policy path considered and its "
        "status, each value with its origin, the plugins, whether the snapshot "
        "programs answer from is current, and the decision "
        "(without APP: the global one and one per app named in any file).",
    )
    p.add_argument("app", metavar="APP", nargs="?", help="audit this app only")
    p.add_argument(
        "--programs",
        action="store_true",
        help="list every catalogued program: installed here?, what the policy requires, "
        "what its own switch says now, whether it complies (exit 1 if an installed one "
        "does not)",
    )
    p.add_argument("--json", action="store_true", help="print the audit as JSON")

    p = sub.add_parser(
        "validate",
        help="check policy files' content (for packagers)",
        description="Check each FILE as a policy file (content only: "
        "ownership and place are not checked).",
    )
    p.add_argument("files", metavar="FILE", nargs="+", help="a policy file (.toml)")
    p.add_argument("--json", action="store_true", help="print results as JSON")

    p = sub.add_parser(
        "set",
        help="choose your mode for APP or --all",
        usage="telemetry-policy set (APP | --all) MODE",
        description="Record your choice; refused (exit 1) above the ceiling.",
    )
    p.add_argument("--all", action="store_true", help="every app without its own choice")
    p.add_argument("words", metavar="APP MODE", nargs="+", help="the app and off, local or on")

    p = sub.add_parser(
        "unset",
        help="forget your choice for APP or --all",
        usage="telemetry-policy unset (APP | --all)",
    )
    p.add_argument("--all", action="store_true", help="the choice for every app")
    p.add_argument("words", metavar="APP", nargs="*", help="the app")

    sub.add_parser("paths", help="list where policy and your choices are read from")

    p = sub.add_parser(
        "apply",
        help="write the policy into every program's own switch (root)",
        description="Write the system's decision into every program's own telemetry "
        "switch, as update-crypto-policies does for crypto: Firefox's and Chromium's "
        "policies, VS Code's policy file, the environment of system services and of "
        "logins, system programs' drop-ins. A ceiling below on becomes a mandatory "
        "setting; a default below on a recommended one where the program has a level "
        "its user may change. What apply writes is recorded in "
        "/var/lib/telemetry-policy/manifest.json; when the policy relaxes, only that is "
        "taken back, and an admin's own settings are never changed. Run it after "
        "editing /etc/telemetry-policy/ (the packages run it on install, on debconf "
        "changes and when any package ships a vendor drop-in).",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="regenerate in memory and list each path that differs (exit 1); write nothing",
    )
    p.add_argument(
        "--undo",
        action="store_true",
        help="take back everything apply wrote (the packages' removal runs this)",
    )
    p.add_argument("--json", action="store_true", help="print what was done as JSON")

    p = sub.add_parser(
        "session",
        help="print your login's telemetry switches; lower Go's mode file",
        description="Print the environment variables of your decision for each program "
        "(the policy's default and ceiling plus your own choices; never the environment "
        "this session inherited), and lower your Go telemetry mode file to your decision "
        "for go (never raise it). The login hooks run this for users who made choices "
        "of their own; for the others they read what apply precomputed.",
    )
    p.add_argument(
        "--format", choices=("sh", "env"), default="sh", help="sh: export lines (default); "
        "env: KEY=VALUE lines (environment generators)",
    )  # fmt: skip
    p.add_argument("--no-go", action="store_true", help="leave Go's mode file alone")
    p.add_argument("--check", action="store_true", help="report what Go would get (exit 1)")

    p = sub.add_parser(
        "export",
        help="print one back-end of the policy (or write it to PATH)",
        description="Print what apply writes for one kind of switch, from the system's "
        "decision (no user's choices): env: KEY=VALUE lines (system services, logins "
        "without a choice); sh: the same as export lines; firefox: the policies.json keys; "
        "chromium: the policy object (--output is a policies directory: managed/ or "
        "recommended/zz-telemetry-policy.json); vscode: the policy.json keys; json: every "
        "program with its decision and what it is told. --output writes a place apply "
        "does not know; such a file is only ever tightened and is not taken back by apply.",
    )
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS, help="what to write")
    p.add_argument(
        "--output",
        metavar="PATH",
        help="write to PATH (chromium: the policies directory) instead of standard output",
    )
    p.add_argument(
        "--check", action="store_true", help="with --output: report drift (exit 1), write nothing"
    )

    p = sub.add_parser(
        "sync",
        help="lower your Go telemetry mode file to your decision for go",
        usage="telemetry-policy sync --user go [--check]",
        description="Lower your Go telemetry mode file (as `go telemetry` writes it) to "
        "your decision for go when it is above it; never raise it. No mode file is Go's "
        "default, local. The login hooks do this by themselves (see session).",
    )
    p.add_argument("--user", action="store_true", help="your own setting (required)")
    p.add_argument("tool", metavar="TOOL", choices=("go",), help="the tool: go")
    p.add_argument("--check", action="store_true", help="report drift (exit 1), write nothing")
    return parser


EXPORT_FORMATS = ("env", "sh", "firefox", "chromium", "vscode", "json")


def _dump(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False))


def _say(line: object = "", err: bool = False) -> None:
    """Print one line, its control characters escaped: a file name or a plugin's
    message can never print a line of its own."""
    print(one_line(str(line)), file=sys.stderr if err else sys.stdout)


def _say_lines(text: str) -> None:
    """Print a text whose lines were escaped one by one (audit, audit --programs)."""
    print(text)


def _target(args: argparse.Namespace, words: int) -> tuple[str | None, list[str]]:
    """Split `set`/`unset` words into (app or None for --all, the rest)."""
    expected = words - 1 if args.all else words
    if len(args.words) != expected:
        form = "(APP | --all) MODE" if args.command == "set" else "(APP | --all)"
        raise UsageError(f"{args.command} takes {form}")
    return (None, args.words) if args.all else (args.words[0], args.words[1:])


def _run(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    environ = os.environ
    root = args.root or environ.get("TELEMETRY_POLICY_ROOT") or "/"
    if args.root is not None and not os.path.isdir(args.root):
        raise UsageError(f"--root {args.root}: not a directory")
    if root.startswith("/"):
        root = os.path.normpath(root)  # /img/ and /img are one root (and one snapshot)
    if args.command == "paths":
        from .locations import search_paths
        from .userstore import state_path, store_path

        for tier, path in search_paths(root):
            _say(f"{tier:<8} {path}")
        _say(f"{'user':<8} {store_path(environ)}")
        _say(f"{'state':<8} {state_path(environ)}")
        return 0
    if args.command == "validate":
        return _validate(args.files, args.json)
    if args.command == "resolve":
        from .api import evaluate

        d = evaluate(
            args.app, app_default=args.app_default, root=root, environ=environ, record=args.record
        )
        for error in d.errors:
            _say(f"telemetry-policy: {one_line(error)}", err=True)
        if args.json:
            _dump(d.as_dict())
        else:
            _say(d.mode)
        return 0
    now = datetime.now(timezone.utc)
    if args.command == "apply":
        return _apply(args, root, environ, now)
    if args.command in ("session", "sync"):
        # a login's answer never comes from what it inherited: only --root moves it
        return _session(args, args.root or "/", environ, now)
    if args.command == "export":
        return _export(args, root, environ, now)
    if args.command == "audit" and args.programs:
        from .compliance import as_text as programs_text
        from .compliance import survey

        if args.app:
            raise UsageError("audit --programs takes no APP")
        found, errors = survey(root, environ, now)
        if args.json:
            rows = [f.as_dict() for f in found]
            _dump({"schema": 1, "root": root, "programs": rows, "errors": errors})
        else:
            _say_lines(programs_text(found))
        _report(errors)
        return 1 if errors or any(f.installed and f.complies is False for f in found) else 0
    if args.command == "audit":
        from .api import check_app
        from .audit import as_json, as_text, run_audit

        decisions = run_audit(check_app(args.app), root=root, environ=environ)
        if args.json:
            _dump(as_json(decisions, root))
        else:
            _say_lines(as_text(decisions, root))
        return 1 if any(d.errors for d in decisions) else 0
    # set / unset
    from .api import set_mode

    app, rest = _target(args, 2 if args.command == "set" else 1)
    mode = rest[0] if rest else None
    if mode is not None and mode not in ("off", "local", "on"):
        raise UsageError(f"unknown mode {mode!r}: use off, local or on")
    d = set_mode(app, mode, root=root, environ=environ, now=datetime.now(timezone.utc))
    from .userstore import store_path

    what = app or "all apps"
    where = f" in {store_path(environ)}"
    if root != "/":  # your own store, checked against the ceiling of that image
        where += f", within the ceiling under {root}"
    _say(f"{what}: {'chose ' + mode if mode else 'choice removed'}{where}; mode now {d.mode}")
    return 0


def _report(errors: Sequence[str]) -> None:
    for error in errors:
        _say(f"telemetry-policy: {one_line(error)}", err=True)


def _apply(args: argparse.Namespace, root: str, environ: Any, now: Any) -> int:
    from .apply import apply, summary

    if args.check and args.undo:
        raise UsageError("apply: --check and --undo do not go together; choose one")
    if root == "/" and os.geteuid() != 0 and not args.check:
        raise UsageError(
            "apply writes system files: run it as root (sudo telemetry-policy apply), "
            "or give --root DIR to write into an image"
        )
    outcome = apply(root, environ, now, check=args.check, undo=args.undo)
    if args.json:
        _dump(
            {
                "schema": 1,
                "root": root,
                "check": args.check,
                "undo": args.undo,
                "changes": [c.as_dict() for c in outcome.changes],
                "current": list(outcome.current),
                "manifest": outcome.manifest,
                "errors": list(outcome.errors),
            }
        )
    else:
        for c in outcome.changes:
            what = ", ".join(c.keys) if c.keys else ""
            _say(f"{c.action}: {c.path}" + (f"  ({what})" if what else ""))
        for note in outcome.notes:
            _say(note)
        _say(summary(outcome, args.check, args.undo))
    _report(outcome.errors)
    drift = args.check and any(c.drift for c in outcome.changes)
    return 1 if outcome.errors or drift else 0


def _session(args: argparse.Namespace, root: str, environ: Any, now: Any) -> int:
    from .session import session

    if args.command == "sync" and not args.user:
        raise UsageError("sync works on your own settings: sync --user go")
    fmt = getattr(args, "format", "sh")
    text, lines, errors, changed = session(
        root, environ, now, fmt, go=not getattr(args, "no_go", False), check=args.check
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


def _export(args: argparse.Namespace, root: str, environ: Any, now: Any) -> int:
    from .catalogue import system_plans
    from .export import export

    if args.check and not args.output:
        raise UsageError("--check compares with a file: give --output")
    found, errors = system_plans(root, environ, now)
    text, changes = export(args.format, found, args.output, args.check)
    sys.stdout.write(text)
    for change in changes:
        _say(f"{change.action}: {change.path}")
    _report(errors)
    return 1 if errors or any(c.drift for c in changes) else 0


def _validate(files: Sequence[str], as_json: bool) -> int:
    from .locations import MAX_SIZE
    from .policyfile import parse_policy

    results = []
    for path in files:
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_SIZE + 1)
            parse_policy(data, path)
            results.append({"path": path, "valid": True})
        except PolicyError as e:
            results.append({"path": path, "valid": False, "error": str(e)})
        except OSError as e:
            results.append({"path": path, "valid": False, "error": f"{path}: {e.strerror}"})
    if as_json:
        _dump({"schema": 1, "files": results})
    else:
        for r in results:
            _say(f"{r['path']}: ok" if r["valid"] else r["error"], err=not r["valid"])
    return 0 if all(r["valid"] for r in results) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``telemetry-policy`` console script."""
    for stream in (sys.stdout, sys.stderr):  # file names need not be UTF-8
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
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
