"""The ``telemetry-policy`` argument parser, which ``--help`` and the man page
(``manpage``) both show."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from . import __version__

__all__ = ["EXPORT_FORMATS", "POLICY_DIRECTORIES", "SECTIONS", "build_parser"]

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
    for add in (_resolve, _audit, _validate, _set, _unset, _paths, _apply, _session, _export,
                _sync):  # fmt: skip
        add(sub)
    return parser


def _resolve(sub: Any) -> None:
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


def _audit(sub: Any) -> None:
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
        help="list the catalogued programs installed here: what the policy requires, what "
        "its own switch says now, whether it complies (exit 1 if one does not); the "
        "system's view, the same whoever asks",
    )
    p.add_argument(
        "--all", action="store_true", help="with --programs: the whole catalogue, not only "
        "what is installed here",
    )  # fmt: skip
    p.add_argument(
        "--user", action="store_true", help="with --programs: judge by your own decisions, "
        "and the switches as your session and files have them (default: the system's view, "
        "whoever asks)",
    )  # fmt: skip
    p.add_argument(
        "--ask", action="store_true", help="with --programs: run each installed program's "
        "own offline status command (go telemetry, next telemetry status, ...) as the login "
        "in question would, without the network, and show what it says; a disagreement is "
        "non-compliance",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the audit as JSON")


def _validate(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help="check policy files' content (for packagers)",
        description="Check each FILE as a policy file (content only: "
        "ownership and place are not checked).",
    )
    p.add_argument("files", metavar="FILE", nargs="+", help="a policy file (.toml)")
    p.add_argument("--json", action="store_true", help="print results as JSON")


def _set(sub: Any) -> None:
    p = sub.add_parser(
        "set",
        help="choose your mode for APP or --all",
        usage="telemetry-policy set (APP | --all) MODE",
        description="Record your choice; refused (exit 1) above the ceiling.",
    )
    p.add_argument("--all", action="store_true", help="every app without its own choice")
    p.add_argument("words", metavar="APP MODE", nargs="+", help="the app and off, local or on")


def _unset(sub: Any) -> None:
    p = sub.add_parser(
        "unset",
        help="forget your choice for APP or --all",
        usage="telemetry-policy unset (APP | --all)",
    )
    p.add_argument("--all", action="store_true", help="the choice for every app")
    p.add_argument("words", metavar="APP", nargs="*", help="the app")


def _paths(sub: Any) -> None:
    sub.add_parser("paths", help="list where policy and your choices are read from")


def _apply(sub: Any) -> None:
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


def _session(sub: Any) -> None:
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
    p.add_argument(
        "--undo",
        action="store_true",
        help="take back what logins wrote in your own files (Go's mode file, where it "
        "still holds what the login hook wrote); the package's removal runs this for "
        "every user",
    )
    p.add_argument("--check", action="store_true", help="report what Go would get (exit 1)")


def _export(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="print one back-end of the policy (or write it to PATH)",
        description="Print what apply writes for one kind of switch, from the system's "
        "decision (no user's choices): env: KEY=VALUE lines (system services, logins "
        "without a choice); sh: the same as export lines; dockerfile: ENV lines, oci-env: an "
        "image config's Env list, devcontainer: containerEnv (containers: no login, no systemd; "
        "printed only); firefox: the policies.json keys; "
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


def _sync(sub: Any) -> None:
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


#: ``export --format``: export.FORMATS, written out so that the parser needs no
#: catalogue (a test keeps the two equal).
EXPORT_FORMATS = (
    "env", "sh", "dockerfile", "oci-env", "devcontainer", "firefox", "chromium", "vscode", "json",
)  # fmt: skip
