"""``telemetry-policy session``: a login's telemetry switches, from its user's decision.

The login hooks (``/etc/profile.d/telemetry-policy.sh`` and the user
environment generator ``60-telemetry-policy``) run this for users who have
made choices of their own (``telemetry-policy set``); for users who have not,
they read what ``apply`` precomputed and never start Python.

Each program's switch comes from that user's decision for that program (the
policy's default and ceiling plus the user's own choices), never from the
environment the session inherited: an exported ``DO_NOT_TRACK=1`` or
``TELEMETRY_POLICY_MODE`` must not feed back into the next login's answer.
Every personal kind of switch (``switches``) has its say: the environment
variables, Go's own mode file.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .catalogue import builtin
from .plans import own_environ, user_decisions
from .switches import SWITCHES

__all__ = ["own_environ", "session", "undo"]


def undo(environ: Mapping[str, str]) -> list[str]:
    """Take back what logins wrote in the user's own files (Go's mode file, where
    it still holds what the hook wrote): lines saying what was done."""
    lines: list[str] = []
    for kind in dict.fromkeys(SWITCHES.values()):
        lines += kind.undo(own_environ(environ)).notes
    return lines


def session(
    root: str, environ: Mapping[str, str], now: datetime, fmt: str, go: bool, check: bool
) -> tuple[str, list[str], list[str], bool]:
    """(environment text, lines about the user's files, errors, whether one changed).
    ``go`` False: the user's own files (Go's mode file) are left alone."""
    personal = {k: s for k, s in SWITCHES.items() if s.personal}
    targets = [t for t in builtin() if t.kind in personal]
    found, errors = user_decisions(root, environ, now, targets)
    text, changed = "", False
    lines: list[str] = []
    for kind in dict.fromkeys(personal.values()):
        if kind.user_files and not go:
            continue
        mine = [(p, m) for p, m in found if p.target.kind in kind.kinds]
        login = kind.login(mine, own_environ(environ), now, fmt, check)
        text += login.lines
        lines += login.notes
        errors += login.errors
        changed = changed or login.changed
    return text, lines, errors, changed
