"""Find and load external plugins (entry-point group ``telemetry_policy``).

Scanning installed distributions means importing ``importlib.metadata``
(about 60 ms) and reading every ``*.dist-info``: too much for a telemetry
client's start-up. The result is cached per user, keyed on what changes when
a distribution is installed or removed: the modification times of the
directories on ``sys.path`` (installing or removing a ``*.dist-info``
directory changes its parent's). The cache only names entry points; whether a
plugin may be trusted is judged on the code actually loaded.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping, Set
from typing import Any

from .model import Record

GROUP = "telemetry_policy"
_CACHE_FORMAT = "telemetry-policy plugins 1"


class EntryPoint(Record):
    name: str
    value: str  # "module" or "module:attribute"
    distribution: str
    version: str


def _search_path() -> list[str]:
    # Not "" (the working directory): running a tool in a directory must never
    # load plugins from it.
    return [p for p in sys.path if p and os.path.isabs(p)]


def cache_key() -> list[str]:
    """What the list of installed plugins depends on, as text lines."""
    lines = [sys.version.replace("\n", " "), sys.prefix]
    for path in _search_path():
        try:
            lines.append(f"{os.stat(path).st_mtime_ns} {path}")
        except OSError:
            lines.append(f"- {path}")
    return lines


def cache_path(environ: Mapping[str, str]) -> str:
    import zlib

    from .userstore import xdg_dir  # only when plugins are looked up

    prefix = zlib.crc32(f"{sys.prefix}\0{sys.executable}".encode())
    return os.path.join(xdg_dir(environ, "XDG_CACHE_HOME", ".cache"), f"plugins-{prefix:08x}")


def _read_cache(path: str, key: list[str]) -> list[EntryPoint] | None:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except (OSError, UnicodeDecodeError):
        return None
    head = [_CACHE_FORMAT, *key, ""]
    if lines[: len(head)] != head:
        return None
    found = []
    for line in lines[len(head) :]:
        fields = line.split("\t")
        if len(fields) != 4:
            continue
        found.append(EntryPoint(*fields))
    return found


def _write_cache(path: str, key: list[str], found: list[EntryPoint]) -> None:
    import tempfile

    body = "\n".join([_CACHE_FORMAT, *key, ""])
    body += "".join(f"\n{e.name}\t{e.value}\t{e.distribution}\t{e.version}" for e in found)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".plugins.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written is only slower, never wrong


def _scan() -> list[EntryPoint]:
    import importlib.metadata as metadata

    found: dict[str, EntryPoint] = {}
    for dist in metadata.distributions(path=_search_path()):
        name = dist.metadata["Name"] or "?"
        for ep in dist.entry_points:
            if ep.group == GROUP and ep.name not in found:  # first on sys.path wins
                found[ep.name] = EntryPoint(ep.name, ep.value, name, dist.version or "?")
    return sorted(found.values(), key=lambda e: e.name)


_memo: tuple[list[str], list[EntryPoint]] | None = None  # this process's last answer


def find(environ: Mapping[str, str], write: bool) -> list[EntryPoint]:
    """The installed plugins: from this process's memo, the cache, or a scan."""
    global _memo
    key = cache_key()
    if _memo is not None and _memo[0] == key:
        return _memo[1]
    path = cache_path(environ)
    found = _read_cache(path, key)
    if found is None:
        found = _scan()
        if write:
            _write_cache(path, key, found)
    _memo = (key, found)
    return found


def load(entry: EntryPoint) -> object:
    """Import the object an entry point names. Raises whatever the import raises."""
    import importlib

    module_name, _, attribute = entry.value.partition(":")
    obj: object = importlib.import_module(module_name.strip())
    for part in attribute.split("[")[0].strip().split("."):
        if part:
            obj = getattr(obj, part)
    return obj


def code_trust(obj: object) -> str:
    """Why the code of a loaded plugin may not be trusted, or '' if it may.

    Trust needs the plugin's module file and its directory to be owned by root
    and writable by no one else, as a system package's are: a plugin a user
    installed in their own site directory can never be trusted, whatever its name.
    """
    module = sys.modules.get(getattr(obj, "__module__", "") or getattr(obj, "__name__", ""))
    path = getattr(module, "__file__", None)
    if not path:
        return "its code has no file to check"
    for what in (path, os.path.dirname(path)):
        try:
            st = os.stat(what)
        except OSError as e:
            return f"cannot check {what}: {e.strerror}"
        if st.st_uid != 0:
            return f"{what} is owned by uid {st.st_uid}, not root"
        if st.st_mode & 0o022:
            return f"{what} is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o})"
    return ""


class Loaded(Record):
    """What became of one entry point in this process."""

    entry: EntryPoint
    error: str = ""  # why it could not be loaded
    untrusted_code: str = ""  # why its code may not be trusted ('' if it may)


_loaded: dict[str, Loaded] = {}  # per process: a plugin is imported once


def load_into(pm: Any, entries: list[EntryPoint], blocked: Set[str]) -> dict[str, Loaded]:
    """Register the plugins of ``entries`` not ``blocked`` (never imported) with ``pm``."""
    for entry in entries:
        if entry.name in blocked or entry.name in _loaded:
            continue
        if pm.get_plugin(entry.name) is not None:  # a built-in's name
            _loaded[entry.name] = Loaded(
                entry,
                f"the name {entry.name!r} is taken by a built-in source; rename the entry point",
            )
            continue
        try:
            plugin = load(entry)
            pm.register(plugin, name=entry.name)
            _loaded[entry.name] = Loaded(entry, "", code_trust(plugin))
        except Exception as e:  # an import that fails is the plugin's failure, not ours
            _loaded[entry.name] = Loaded(
                entry, f"cannot load {entry.value}: {type(e).__name__}: {e}"
            )
    return {e.name: _loaded[e.name] for e in entries if e.name in _loaded}
