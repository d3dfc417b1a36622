"""Go's own telemetry mode file: where it is, and reading and writing it as the
Go toolchain does.

Go reads only ``os.UserConfigDir()/go/telemetry/mode`` (``$XDG_CONFIG_HOME``,
else ``~/.config``), written by ``go telemetry on|local|off`` as
``MODE YYYY-MM-DD`` with no newline; no file means ``local``. It is the
user's own choice in Go, so resolution reads it as the app-native choice for
``go``; the login hook lowers it to the user's decision (``lower``).
"""

from __future__ import annotations

import contextlib
import os

from .model import Choice, Mode, Origin
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


# strings.TrimSpace: Go's unicode.IsSpace (Python's str.isspace differs: it also
# counts the separators U+001C..U+001F)
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006" + (
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def parse(data: bytes) -> tuple[Mode, str]:
    """(mode, date) as the Go toolchain reads its mode file (golang.org/x/telemetry,
    ``internal/telemetry/dir.go``, ``Dir.Mode``): the content trimmed of white
    space, split at the first ASCII space; then exactly ``off`` collects nothing,
    exactly ``on`` uploads, and anything else (an unknown word, ``on\t2026-11-23``,
    an empty file, a byte-order mark) collects locally. The date is what follows
    the space ('' if none)."""
    text = data.decode("utf-8", "surrogateescape").strip(_GO_SPACE)
    word, _, date = text.partition(" ")
    return {"off": Mode.OFF, "on": Mode.ON}.get(word, Mode.LOCAL), date


def _date(text: str) -> datetime | None:
    """Go's ``time.Parse("2006-01-02", text)``: exactly four, two and two digits."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    if (
        not (text[:4] + text[5:7] + text[8:]).isascii()
        or not (text[:4] + text[5:7] + text[8:]).isdigit()
    ):
        return None
    from datetime import datetime, timezone

    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def read_choice(path: str, hook: bytes | None = None) -> Choice | None:
    """The user's choice in Go, as Go reads it; None without a mode file, or when
    the file holds exactly what the login hook wrote (``hook``): that is the
    policy's word, not the user's. A file that cannot be read counts as off."""
    origin = Origin("native", path)
    try:
        data = read_own(path, _MAX)
    except UnsafePath as e:
        return Choice(Mode.OFF, origin, None, f"{e}; read as off")
    if data is None or (hook is not None and data == hook):
        return None
    mode, date = parse(data)
    return Choice(mode, origin, _date(date) if mode is Mode.ON else None)


def write_mode(path: str, mode: Mode, now: datetime) -> None:
    """Write ``mode`` as `go telemetry MODE` does: ``MODE YYYY-MM-DD``, no newline."""
    from .safefs import write_own

    write_own(path, f"{mode} {now.date().isoformat()}".encode(), 0o644, 0o755)


def hook_file(environ: Mapping[str, str]) -> str | None:
    """Where the login hook keeps what it last wrote into Go's file (the user's
    state directory): a file that still holds exactly that is the policy's, not
    the user's."""
    from .errors import PolicyError
    from .paths import xdg_dir

    try:
        return os.path.join(xdg_dir(environ, "XDG_STATE_HOME", ".local/state"), "go-mode")
    except PolicyError:
        return None


def read_hook(path: str | None) -> bytes | None:
    """What the login hook last wrote (None: nothing, or nothing we can trust)."""
    if path is None:
        return None
    try:
        return read_own(path, _MAX)
    except UnsafePath:
        return None


def lower(
    path: str, decision: Mode, now: datetime, check: bool, hook: str | None = None
) -> tuple[str, bool]:
    """Bring Go's mode file at ``path`` to the user's ``decision`` as Go reads it.

    A file the user wrote (``go telemetry``) is only ever lowered, never raised;
    no file is Go's default, ``local``. A file that still holds exactly what this
    hook last wrote (kept at ``hook``) is the policy's: it follows the decision
    both ways, so a later ``telemetry-policy set go on`` reaches Go. Returns (a
    line saying what happened, changed)."""
    try:
        data = read_own(path, _MAX)
    except UnsafePath as e:
        if "symlink" not in e.reason:  # a FIFO, a directory, another user's file
            raise UnsafePath(path, e.reason, "Go's mode file was left as it is") from None
        data = b"(a symlink)"  # not Go's file: replaced, not followed
    ours = data is not None and data == read_hook(hook)
    if data is None:
        current, shown = Mode.LOCAL, "local (Go's default: no mode file)"
    else:
        current = parse(data)[0]
        shown = f"{current} ({data[:40]!r} as Go reads it)"
    if current == decision or (current < decision and not ours):
        return f"go: {shown}, within your decision {decision}; left as it is", False
    verb = ("would " if check else "") + ("lower" if current > decision else "raise")
    verb += "" if check else "d" if verb.endswith("e") else "ed"
    if not check:
        written = f"{decision} {now.date().isoformat()}".encode()
        write_mode(path, decision, now)
        if hook is not None:
            from .safefs import write_own

            write_own(hook, written, 0o600, 0o700)
    return f"go: {shown}; {verb} to {decision} in {path}", True


def undo(path: str, hook: str | None) -> str | None:
    """Take back what the login hook wrote: Go's file, if it still holds exactly
    that, goes (Go's default again), and so does the record. A line saying what
    was done, or None if the hook had written nothing."""
    wrote = read_hook(hook)
    if wrote is None or hook is None:
        return None
    said = f"go: {path} was changed since; left as it is"
    try:
        if read_own(path, _MAX) == wrote:
            os.unlink(path)
            said = f"go: removed {path}, which the login hook wrote"
    except (UnsafePath, OSError):
        pass
    with contextlib.suppress(OSError):
        os.unlink(hook)
    return said
