"""Read back, without ``tomllib``, the TOML files this library writes itself.

The user store (``set``) and the state file (``resolve``) are written in one
fixed shape. A client reads them at every start, and importing ``tomllib``
costs more than the rest of the hot path; so a file in exactly that shape is
read here, line by line, and anything else at all (a comment edited in, other
spacing, an unknown key, a duplicate) returns None and is read by ``tomllib``,
which also reports what is wrong. What this returns equals what
``tomllib.loads`` returns for the same text (property-tested).
"""

from __future__ import annotations

from .model import is_app_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_MODES = ('"off"', '"local"', '"on"')
_KEYS = {"user store": ("mode", "since"), "state": ("on_since",)}
_DIGITS = frozenset("0123456789")
# 2026-11-24T10:00:00+00:00, with or without .ffffff: what isoformat() writes
_SHAPES = ("dddd-dd-ddTdd:dd:dd+dd:dd", "dddd-dd-ddTdd:dd:dd.dddddd+dd:dd")


def _timestamp(text: str) -> object | None:
    shape = "".join("d" if c in _DIGITS else c for c in text).replace("-dd:dd", "+dd:dd", 1)
    if shape not in _SHAPES:
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _table(header: str) -> tuple[str, ...] | None:
    """``[all]`` -> ("all",), ``[app.go]`` / ``[app."my.tool"]`` -> ("app", name)."""
    if header == "[all]":
        return ("all",)
    if not header.startswith("[app.") or not header.endswith("]"):
        return None
    name = header[5:-1]
    if len(name) > 2 and name[0] == '"' and name[-1] == '"':
        name = name[1:-1]
    elif "." in name:
        return None
    return ("app", name) if is_app_name(name) else None


def parse(text: str, what: str) -> dict[str, Any] | None:
    """The document ``text`` (a ``user store`` or ``state``), or None if it is
    not exactly in the shape this library writes."""
    keys = _KEYS[what]
    doc: dict[str, Any] = {}
    table: dict[str, Any] | None = None
    for line in text.split("\n"):
        if not line or (line[0] == "#" and line.isprintable()):
            continue
        if line[0] == "[":
            where = _table(line)
            if where is None:
                return None
            if where[0] == "all":
                if "all" in doc:
                    return None
                table = doc["all"] = {}
            else:
                apps = doc.setdefault("app", {})
                if where[1] in apps:
                    return None
                table = apps[where[1]] = {}
            continue
        key, sep, value = line.partition(" = ")
        if not sep:
            return None
        if table is None:
            if what != "user store" or key != "schema" or value != "1" or "schema" in doc:
                return None
            doc["schema"] = 1
            continue
        if key not in keys or key in table:
            return None
        if key == "mode":
            if value not in _MODES:
                return None
            table[key] = value[1:-1]
        else:
            when = _timestamp(value)
            if when is None:
                return None
            table[key] = when
    return doc
