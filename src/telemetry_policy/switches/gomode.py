"""Go's own telemetry mode file, the switch of a program with no system-wide one.

Go reads only ``os.UserConfigDir()/go/telemetry/mode`` (``$XDG_CONFIG_HOME``,
else ``~/.config``), written by ``go telemetry on|local|off`` as
``MODE YYYY-MM-DD`` with no newline; no file means ``local``. It is the
user's own choice in Go, so resolution reads it as the app-native choice
for ``go``; at login it is lowered to the user's decision for ``go`` (the
default included, when Go has no file and the decision is below ``local``),
and never raised. apply writes only the system's default and ceiling for
``go`` where the login hook can read them without starting Python.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime

from ..catalogue import Plan
from ..model import MODES, Choice, Mode, Origin
from ..safefs import UnsafePath, read_own, write_own
from . import SESSION_DIR, OwnedFile, Reading, comment

SESSION_GO = f"{SESSION_DIR}/go"
_MAX = 4096  # Go writes a dozen bytes


def desired(plans: Sequence[Plan]) -> list[OwnedFile]:
    return [
        OwnedFile(
            SESSION_GO,
            (
                comment() + "# Go's default and ceiling, for the login hook: DEFAULT CEILING\n"
                f"{p.default} {p.ceiling}\n"
            ).encode(),
            (p.target.name,),
        )
        for p in plans[:1]
    ]


def mode_file(environ: Mapping[str, str]) -> str | None:
    """Where Go keeps the mode, as Go's os.UserConfigDir: ``$XDG_CONFIG_HOME``
    (which must be absolute, or Go has none), else ``$HOME/.config``."""
    base = environ.get("XDG_CONFIG_HOME", "")
    if base:
        if not os.path.isabs(base):
            return None
    else:
        home = environ.get("HOME", "")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".config")
    return os.path.join(base, "go", "telemetry", "mode")


def parse(data: bytes) -> tuple[Mode, str] | None:
    """(mode, date) of a mode file as Go writes it; None if Go would not understand it."""
    words = data.decode("utf-8", "replace").split()
    if not words or words[0] not in MODES or len(words) > 2:
        return None
    return MODES[words[0]], words[1] if len(words) == 2 else ""


def read_choice(path: str) -> Choice | None:
    """The user's choice in Go; None without a mode file. A file that cannot be
    read or that Go would not understand counts as choice off (and is reported)."""
    origin = Origin("native", path)
    try:
        data = read_own(path, _MAX)
    except UnsafePath as e:
        return Choice(Mode.OFF, origin, None, f"{e}; read as off")
    if data is None:
        return None
    found = parse(data)
    if found is None:
        shown = data[:40].decode("utf-8", "replace").strip() or "(empty)"
        return Choice(
            Mode.OFF,
            origin,
            None,
            f"{path}: Go mode {shown!r} is not off, local or on; read as off",
        )
    mode, date = found
    since = None
    if date:
        try:
            from datetime import timezone

            since = datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        except ValueError:
            pass  # a date Go would not write: the choice stands, undated
    return Choice(mode, origin, since)


def write_mode(path: str, mode: Mode, now: datetime) -> None:
    """Write ``mode`` as `go telemetry MODE` does: ``MODE YYYY-MM-DD``, no newline."""
    write_own(path, f"{mode} {now.date().isoformat()}".encode(), 0o644, 0o755)


def lower(path: str, decision: Mode, now: datetime, check: bool) -> tuple[str, bool]:
    """Lower Go's mode at ``path`` to ``decision`` if it is above it; never raise it.

    No file is Go's default, ``local``; a file Go would not understand counts
    as above any decision. Returns (a line saying what happened, changed).
    """
    try:
        data = read_own(path, _MAX)
        found = None if data is None else parse(data)
    except UnsafePath as e:
        if "symlink" not in e.reason:  # a FIFO, a directory, another user's file
            raise UnsafePath(path, e.reason, "Go's mode file was left as it is") from None
        data, found = b"(a symlink)", None  # not Go's file: replaced, not followed
    if data is None:
        current, shown = Mode.LOCAL, "local (Go's default: no mode file)"
    elif found is None:
        current, shown = Mode.ON, f"unreadable ({data[:20]!r})"
    else:
        current, shown = found[0], str(found[0])
    if current <= decision:
        return f"go: {shown}, within your decision {decision}; left as it is", False
    if not check:
        write_mode(path, decision, now)
    verb = "would lower" if check else "lowered"
    return f"go: {shown} is above your decision {decision}; {verb} to {decision} in {path}", True


def read(environ: Mapping[str, str]) -> Reading:
    """Go's mode for the user of ``environ``, as the Go toolchain reads it."""
    path = mode_file(environ)
    if path is None:
        return Reading("no config directory (HOME unset or XDG_CONFIG_HOME relative)", None)
    try:
        data = read_own(path, _MAX)
    except UnsafePath as e:
        return Reading(f"{path}: {e.reason}", None)
    if data is None:
        return Reading(f"{path} absent: Go's default, local", Mode.LOCAL)
    found = parse(data)
    if found is None:
        return Reading(f"{path} holds what Go would not read", None)
    return Reading(f"{found[0]} ({path})", found[0])
