"""Generate the ``telemetry-policy(1)`` man page from the argument parser.

Packages run ``python3 -m telemetry_policy.manpage OUTPUT`` at build time, so
the page always says what ``--help`` says: commands and options come from
:func:`telemetry_policy.cliparser.build_parser`, FILES, ENVIRONMENT and EXIT STATUS
from :data:`telemetry_policy.cliparser.SECTIONS`. Never imported by the command.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence

from . import __version__
from .cliparser import POLICY_DIRECTORIES, SECTIONS, build_parser


def _text(s: str) -> str:
    """Escape running text for roff."""
    s = s.replace("\\", "\\e").replace("-", "\\-")
    return re.sub(r"(?m)^([.'])", r"\\&\1", s)


def _bold(s: str) -> str:
    return f"\\fB{_text(s)}\\fR"


def _italic(s: str) -> str:
    return f"\\fI{_text(s)}\\fR"


def _flags(action: argparse.Action) -> str:
    """``\\fB--root\\fR \\fIDIR\\fR`` or ``\\fIAPP\\fR``."""
    if not action.option_strings:
        return _italic(str(action.metavar or action.dest))
    takes_value = action.nargs != 0
    parts = []
    for flag in action.option_strings:
        part = _bold(flag)
        if takes_value:
            part += " " + _italic(str(action.metavar or action.dest.upper()))
        parts.append(part)
    return ", ".join(parts)


def _tagged(items: Iterable[tuple[str, str]]) -> list[str]:
    out = []
    for tag, text in items:
        out += [".TP", tag, _text(text)]
    return out


def _actions(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    return [
        (_flags(a), a.help or "")
        for a in parser._actions
        if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
        and a.help != argparse.SUPPRESS
    ]


def _usage(parser: argparse.ArgumentParser) -> str:
    usage = parser.format_usage().removeprefix("usage: ")
    return " ".join(word for word in usage.split() if word != "[-h]")


def render(date: str = "") -> str:
    """The man page, in roff."""
    parser = build_parser()
    description = parser.description or ""
    summary = description.split(":")[0]
    name = parser.prog
    lines = [
        f'.TH {name.upper()} 1 "{date}" "{name} {__version__}" "User Commands"',
        ".SH NAME",
        f"{name} \\- {_text(summary[0].lower() + summary[1:])}",
        ".SH SYNOPSIS",
        _text(_usage(parser)),
        ".SH DESCRIPTION",
        _text(description),
        ".PP",
        _text(
            "A telemetry client asks for its mode before it reads its user's own "
            "setting; this command shows the same answer and why it is what it is."
        ),
        ".SH OPTIONS",
        *_tagged(_actions(parser)),
        ".SH COMMANDS",
    ]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help or "" for a in sub._choices_actions}
    for command, subparser in sub.choices.items():
        lines += [".SS " + _bold(_usage(subparser)), _text(subparser.description or helps[command])]
        lines += _tagged(_actions(subparser))
    for title, items in SECTIONS:
        lines.append(f".SH {title.upper()}")
        lines += _tagged((_bold(term), text) for term, text in items)
        if title == "files":
            lines += [".PP", _text(POLICY_DIRECTORIES)]
    lines += [
        ".SH SEE ALSO",
        _text(
            "The policy file format, the presets and the resolution rules: the "
            "README in /usr/share/doc/telemetry-policy/ (or the project's README)."
        ),
    ]
    return "\n".join(lines) + "\n"


def _date() -> str:
    """The build date: ``SOURCE_DATE_EPOCH`` if set (reproducible builds), else none."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return time.strftime("%Y-%m-%d", time.gmtime(int(epoch))) if epoch else ""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python3 -m telemetry_policy.manpage OUTPUT|-", file=sys.stderr)
        return 2
    page = render(_date())
    if args[0] == "-":
        sys.stdout.write(page)
    else:
        with open(args[0], "w", encoding="utf-8") as f:
            f.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
