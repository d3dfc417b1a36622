"""telemetry-policy plugin for Go: the user's ``go telemetry`` mode is their choice for ``go``.

Registered through the ``telemetry_policy`` entry point ``go``; the module
itself is the plugin.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timezone

from telemetry_policy import Choice, Context, Mode, Origin, hookimpl

APP = "go"
_MAX = 4096  # Go writes a dozen bytes


def mode_file(environ: Mapping[str, str]) -> str | None:
    """Where Go keeps the mode: ``os.UserConfigDir()/go/telemetry/mode``.

    As Go's os.UserConfigDir on Linux: ``$XDG_CONFIG_HOME`` (which must be
    absolute, or Go reports an error), else ``$HOME/.config``.
    """
    base = environ.get("XDG_CONFIG_HOME", "")
    if base:
        if not os.path.isabs(base):
            return None
    else:
        home = environ.get("HOME", "")
        if not home:
            return None
        base = os.path.join(home, ".config")
    return os.path.join(base, "go", "telemetry", "mode")


def read_choice(path: str) -> Choice | None:
    """The choice a Go mode file records; None when there is no file."""
    origin = Origin("native", path)
    try:
        with open(path, "rb") as f:
            data = f.read(_MAX)
    except FileNotFoundError:
        return None
    except OSError as e:
        return Choice(Mode.OFF, origin, None, f"{path}: cannot read ({e.strerror}); read as off")
    text = data.decode("utf-8", "replace").strip()
    word, _, date = text.partition(" ")
    if word not in ("off", "local", "on"):
        shown = text[:40] or "(empty)"
        return Choice(Mode.OFF, origin, None,
                      f"{path}: Go mode {shown!r} is not off, local or on; read as off")
    since = None
    try:
        since = datetime.strptime(date.strip(), "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        pass  # no date, or one Go would not write: the choice stands, undated
    return Choice(Mode.parse(word), origin, since)


@hookimpl
def telemetry_policy_user_choice(app: str | None, context: Context) -> Choice | None:
    """The user's ``go telemetry`` choice, for app ``go`` only."""
    if app != APP:
        return None
    path = mode_file(context.environ)
    return None if path is None else read_choice(path)
