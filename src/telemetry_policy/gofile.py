"""Go's own telemetry mode file: where it is, and reading and writing it as the
Go toolchain does.

Go reads only ``os.UserConfigDir()/go/telemetry/mode`` (``$XDG_CONFIG_HOME``,
else ``~/.config``), written by ``go telemetry on|local|off`` as
``MODE YYYY-MM-DD`` with no newline; no file means ``local``. It is the
user's own choice in Go, so resolution reads it as the app-native choice for
``go``; the login hook lowers it to the user's decision (``lower``).
"""

from __future__ import annotations

import os

from .model import MODES, Choice, Mode, Origin
from .ownfiles import UnsafePath, read_own

TYPE_CHECKING = False  # resolve("go") reads this file: import little
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

__all__ = ["lower", "mode_file", "parse", "read_choice", "write_mode"]

_MAX = 4096  # Go writes a dozen bytes


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
            from datetime import datetime, timezone

            since = datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        except ValueError:
            pass  # a date Go would not write: the choice stands, undated
    return Choice(mode, origin, since)


def write_mode(path: str, mode: Mode, now: datetime) -> None:
    """Write ``mode`` as `go telemetry MODE` does: ``MODE YYYY-MM-DD``, no newline."""
    from .safefs import write_own

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
