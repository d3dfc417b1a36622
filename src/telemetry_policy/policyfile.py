"""Parse and validate policy documents (TOML, schema 1), strictly.

Any problem makes the whole document invalid: a misspelt ``cieling = "off"``
was meant to switch telemetry off, so it must never be silently ignored.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

from .conditions import VERSION_EXPR
from .errors import PolicyFileError, show_value
from .model import MODES, PRESETS, Mode, Origin
from .policymodel import MAX_SIZE, TOO_LARGE, Condition, PolicyFile, Setting

SCHEMA = 1
APP_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# Patterns only some files need: re compiles (and caches) them on first use.
PLUGIN_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"

_TOP_KEYS = ("schema", "policy", "app", "when", "plugins")
_TABLE_KEYS = ("preset", "default", "ceiling", "upload_delay_days")
_WHEN_KEYS = ("distro", "distro_version")
_PLUGIN_KEYS = ("trusted", "disabled")

KeyPath = tuple[str, ...]

_TOML_POS = r"\s*\(at line (\d+), column \d+\)\s*$"  # compiled only on errors


def _split_key(text: str) -> KeyPath:
    """``'app."my.tool"'`` -> ``("app", "my.tool")``: TOML's dotted keys."""
    if '"' not in text and "'" not in text:  # the common case: bare keys
        return tuple(p.strip() for p in text.split("."))
    parts: list[str] = []
    current = ""
    quote = ""
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
            else:
                current += ch
        elif ch in "\"'":
            quote = ch
        elif ch == ".":
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    parts.append(current.strip())
    return tuple(parts)


def _key_end(line: str) -> int:
    """Index of the ``=`` that ends a key, outside quotes; -1 if none."""
    if '"' not in line and "'" not in line:  # the common case: bare keys
        eq, hash_ = line.find("="), line.find("#")
        return eq if hash_ < 0 or eq < hash_ else -1
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "=":
            return i
        elif ch == "#":
            return -1
    return -1


def key_lines(text: str) -> dict[KeyPath, int]:
    """Map each table and key path to the first line that writes it.

    tomllib reports no positions for valid documents; this reads just enough
    of TOML (table headers and ``key =`` lines) to say where a value is set.
    """
    lines: dict[KeyPath, int] = {}
    table: KeyPath = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        if line[0] == "[":
            close = line.find("]")
            if close > 0 and not line.startswith("[["):
                table = _split_key(line[1:close])
                lines.setdefault(table, number)
            continue
        end = _key_end(line)
        key = _split_key(line[:end]) if end > 0 else ()
        if key:
            path = table + key
            for depth in range(len(table) + 1, len(path) + 1):
                lines.setdefault(path[:depth], number)
    return lines


class _Checker:
    """Validates one document, turning key paths into lines and origins."""

    def __init__(
        self,
        source: str,
        lines: Mapping[KeyPath, int],
        origin: Callable[[int | None], Origin],
    ) -> None:
        self.source = source
        self.lines = lines
        self.origin = origin

    def line(self, path: KeyPath) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def fail(self, path: KeyPath, reason: str, hint: str = "") -> PolicyFileError:
        return PolicyFileError(self.source, reason, self.line(path), hint)

    def table(self, value: object, path: KeyPath) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"{_name(path)} must be a table, not {_kind(value)}")
        return value

    def keys(self, table: Mapping[str, Any], path: KeyPath, allowed: tuple[str, ...]) -> None:
        for key in table:
            if key in allowed or key.startswith("x-"):
                continue
            import difflib  # only on the error path

            close = difflib.get_close_matches(key, allowed, n=1)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else ("allowed: " + ", ".join(allowed) + ", or x-* for extensions")
            )
            where = f" in {_name(path)}" if path else ""
            raise self.fail((*path, key), f"unknown key {show_value(key)}{where}", hint)

    def names(self, value: object, path: KeyPath, pattern: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(
                path,
                f"{_name(path)} must be a list of strings, not {_kind(value)}",
                f'write {path[-1]} = ["name"]',
            )
        for item in value:
            if not re.fullmatch(pattern, item):
                raise self.fail(path, f"{_name(path)} has an invalid name {show_value(item)}")
        return tuple(value)

    def settings(self, value: object, path: KeyPath) -> tuple[Setting, ...]:
        table = self.table(value, path)
        self.keys(table, path, _TABLE_KEYS)
        found: dict[str, Setting] = {}
        if "preset" in table:
            preset = table["preset"]
            if not isinstance(preset, str) or preset not in PRESETS:
                raise self.fail(
                    (*path, "preset"),
                    f"unknown preset {show_value(preset)}",
                    "use one of: " + ", ".join(PRESETS),
                )
            origin = self.origin(self.line((*path, "preset")))
            default, ceiling = PRESETS[preset]
            found["default"] = Setting("default", default, origin)
            found["ceiling"] = Setting("ceiling", ceiling, origin)
        for key in ("default", "ceiling"):  # explicit keys in the same table win
            if key in table:
                found[key] = Setting(
                    key,
                    self.mode(table[key], (*path, key)),
                    self.origin(self.line((*path, key))),
                )
        if "upload_delay_days" in table:
            days = table["upload_delay_days"]
            if type(days) is not int or not 0 <= days <= 365:
                raise self.fail(
                    (*path, "upload_delay_days"),
                    "upload_delay_days must be a whole number from 0 to 365, "
                    f"not {show_value(days)}",
                )
            found["upload_delay_days"] = Setting(
                "upload_delay_days",
                days,
                self.origin(self.line((*path, "upload_delay_days"))),
            )
        return tuple(found.values())

    def mode(self, value: object, path: KeyPath) -> Mode:
        if isinstance(value, str) and value in MODES:
            return MODES[value]
        raise self.fail(
            path, f"unknown mode {show_value(value)} for {path[-1]}", "use one of: off, local, on"
        )

    def condition(self, value: object, path: KeyPath) -> Condition:
        table = self.table(value, path)
        self.keys(table, path, _WHEN_KEYS)
        distros = None
        if "distro" in table:
            distros = self.names(table["distro"], (*path, "distro"), PLUGIN_NAME)
            if not distros:
                raise self.fail(
                    (*path, "distro"),
                    "[when] distro is empty, so the file could never apply",
                )
            distros = tuple(d.lower() for d in distros)
        version = table.get("distro_version")
        if version is not None and (
            not isinstance(version, str) or not re.fullmatch(VERSION_EXPR, version)
        ):
            raise self.fail(
                (*path, "distro_version"),
                f"invalid distro_version {show_value(version)}",
                'write an operator and a dotted number, e.g. ">=12" or "==24.04"',
            )
        return Condition(distros, version, self.line(path))


def check_document(
    doc: Mapping[str, Any],
    source: str,
    origin: Callable[[int | None], Origin],
    lines: Mapping[KeyPath, int] | None = None,
) -> PolicyFile:
    """Validate an already-decoded document; raise PolicyFileError if unusable."""
    c = _Checker(source, lines or {}, origin)
    if not isinstance(doc, Mapping):
        raise c.fail((), f"a policy must be a table, not {_kind(doc)}")
    c.keys(doc, (), _TOP_KEYS)
    if "schema" in doc and (type(doc["schema"]) is not int or doc["schema"] != SCHEMA):
        raise c.fail(
            ("schema",),
            f"unsupported schema {show_value(doc['schema'])}",
            f"this version of telemetry-policy reads schema = {SCHEMA}",
        )
    policy = c.settings(doc["policy"], ("policy",)) if "policy" in doc else ()
    apps = []
    for name, table in c.table(doc.get("app", {}), ("app",)).items():
        if not APP_NAME.fullmatch(name):
            raise c.fail(
                ("app", name),
                f"invalid app name {show_value(name)}",
                "app names are 1-64 of a-z 0-9 . _ - starting with a letter or digit",
            )
        apps.append((name, c.settings(table, ("app", name))))
    when = c.condition(doc["when"], ("when",)) if "when" in doc else None
    plugins = c.table(doc.get("plugins", {}), ("plugins",))
    c.keys(plugins, ("plugins",), _PLUGIN_KEYS)
    trusted = c.names(plugins.get("trusted", []), ("plugins", "trusted"), PLUGIN_NAME)
    disabled = c.names(plugins.get("disabled", []), ("plugins", "disabled"), PLUGIN_NAME)
    return PolicyFile(source, policy, tuple(apps), when, trusted, disabled)


def parse_policy(data: bytes, source: str) -> PolicyFile:
    """Parse a policy file's bytes; ``source`` names it in errors and origins.

    >>> parse_policy(b'[policy]\\npreset = "opt-in"\\n', "demo.toml").policy[1].value
    <Mode.ON: 2>
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib

    if len(data) > MAX_SIZE:
        raise PolicyFileError(source, TOO_LARGE)
    if data.startswith(b"\xef\xbb\xbf"):
        raise PolicyFileError(
            source,
            "file starts with a byte-order mark",
            1,
            "save it as UTF-8 without BOM",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PolicyFileError(
            source,
            "file is not UTF-8 text",
            data[: e.start].count(b"\n") + 1,
            "save it as UTF-8",
        ) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        pos = re.search(_TOML_POS, message)
        line = int(pos.group(1)) if pos else None
        reason = re.sub(_TOML_POS, "", message) if pos else message
        raise PolicyFileError(source, f"not valid TOML: {reason}", line, "fix the syntax") from None
    except RecursionError:
        raise PolicyFileError(
            source,
            "not valid TOML: nested too deeply",
            hint="a policy file nests [app.NAME] at most",
        ) from None
    return check_document(doc, source, lambda line: Origin("file", source, line), key_lines(text))


def _name(path: KeyPath) -> str:
    if not path:
        return "the document"
    if len(path) == 1:
        return f"[{path[0]}]" if path[0] in _TOP_KEYS else repr(path[0])
    head = ".".join(path[:-1])
    return f"[{head}] {path[-1]}" if path[0] != "app" or len(path) > 2 else f"[{'.'.join(path)}]"


def _kind(value: object) -> str:
    return {
        dict: "a table",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)
