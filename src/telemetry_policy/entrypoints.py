"""Find and load external plugins (entry-point group ``telemetry_policy``).

Installed distributions are found by reading each site directory's
``*.dist-info/entry_points.txt`` directly: ``importlib.metadata`` costs about
60 ms to import, too much for a telemetry client's start. What was found is
cached per user and per directory, keyed on the directory's identity and
modification time (installing or removing a distribution changes it).

A cache may cost time, never change the answer:

- an entry for a directory is used only if the caller could change that
  directory anyway (a user's own site-packages or venv): a forged line there
  is no more than installing or removing a package there. Directories the
  caller cannot write (the system's site-packages) are read afresh;
- a cache is read only if the caller owns it, never through a final link,
  and never blocks: root never reads a user's cache;
- the working directory and the running script's directory (``python -c``,
  ``-m`` and ``python script.py`` put one first on ``sys.path``) are never a
  source of plugins, and are not part of any key.

Two installed entry points with the same name are an error, not "first on
sys.path wins": a user's package could otherwise hide a system plugin.
Whether a plugin's code is a system file is decided by the file the import
system finds for its module, never by what the module says about itself.
"""

# Annotations naming what only type checkers import are strings: a client imports
# this at every start, and `from __future__ import annotations` would import one
# module more (docs/authors.md#what-asking-costs-at-start).

import os
import stat
import sys

from .model import Record
from .paths import READ_FLAGS, read_all

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

GROUP = "telemetry_policy"
_CACHE_FORMAT = "telemetry-policy plugins 2"
_SUFFIXES = (".dist-info", ".egg-info")


class EntryPoint(Record):
    name: str
    value: str  # "module" or "module:attribute"
    distribution: str
    version: str
    where: str = ""  # the *.dist-info it came from


def _stdlib_dirs() -> set[str]:
    stdlib = os.path.dirname(os.__file__)
    return {stdlib, os.path.join(stdlib, "lib-dynload")}


def search_path() -> list[str]:
    """The directories plugins are looked for in: ``sys.path`` without what the
    interpreter put first (the script's directory, or the working directory for
    ``-m`` and ``-c``), the standard library, zip files and relative entries."""
    paths = list(sys.path)
    if paths and not (sys.flags.isolated or getattr(sys.flags, "safe_path", False)):
        paths = paths[1:]  # a copy later on sys.path (a real site directory) stays
    skip = _stdlib_dirs()
    out = []
    for p in paths:
        if p and os.path.isabs(p) and p not in skip and not p.endswith(".zip") and p not in out:
            out.append(p)
    return out


def _parse_entry_points(text: str) -> list[tuple[str, str]]:
    """(name, value) pairs of the ``[telemetry_policy]`` section of entry_points.txt."""
    out = []
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == GROUP and "=" in line:
            name, _, value = line.partition("=")
            out.append((name.strip(), value.strip()))
    return out


def _metadata(info: str) -> tuple[str, str]:
    """(Name, Version) from a dist-info's METADATA (or an egg-info's PKG-INFO)."""
    name = version = ""
    for file in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(info, file), encoding="utf-8", errors="replace") as f:
                for line in f:
                    if not line.strip():
                        break  # the headers end here
                    key, _, value = line.partition(":")
                    if key == "Name":
                        name = value.strip()
                    elif key == "Version":
                        version = value.strip()
            break
        except OSError:
            continue
    base = os.path.basename(info).rsplit(".", 1)[0]
    return name or base.split("-")[0], version or (base.split("-")[1] if "-" in base else "?")


def scan_directory(directory: str) -> "list[EntryPoint]":
    """The telemetry_policy entry points of the distributions installed in ``directory``."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    found = []
    for name in names:
        if not name.endswith(_SUFFIXES):
            continue
        info = os.path.join(directory, name)
        try:
            fd = os.open(
                os.path.join(info, "entry_points.txt"),
                os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0),
            )
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            text = os.read(fd, 1 << 20).decode("utf-8", "replace")
        except OSError:
            continue
        finally:
            os.close(fd)
        pairs = _parse_entry_points(text)
        if pairs:
            dist, version = _metadata(info)
            found += [EntryPoint(n, v, dist, version, info) for n, v in pairs]
    return found


def _key(directory: str) -> str | None:
    try:
        st = os.stat(directory)
    except OSError:
        return None
    return f"{st.st_dev}:{st.st_ino}:{st.st_mtime_ns}"


def _fnv1a(data: bytes) -> int:
    """A 32-bit FNV-1a hash: a name per interpreter, without importing zlib."""
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def cache_path(environ: "Mapping[str, str]") -> str:
    from .paths import xdg_dir

    prefix = _fnv1a(f"{sys.prefix}\0{sys.executable}".encode())
    return os.path.join(xdg_dir(environ, "XDG_CACHE_HOME", ".cache"), f"plugins-{prefix:08x}")


Cache = dict[str, tuple[str, list[EntryPoint]]]  # directory: (key, entry points)


def _read_own(path: str) -> bytes:
    """The caller's own cache file, or b"": never through a final link, never
    blocking, never a file someone else owns (whoever owns it wrote it).
    Anything else is no cache, which only costs time."""
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError:
        return b""
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_size > 1 << 22:
            return b""
        return read_all(fd, st.st_size)
    except OSError:
        return b""
    finally:
        os.close(fd)


def _read_cache(path: str) -> "Cache":
    lines = _read_own(path).decode("utf-8", "replace").split("\n")
    if not lines or lines[0] != _CACHE_FORMAT:
        return {}
    cache: Cache = {}
    current: list[EntryPoint] | None = None
    for line in lines[1:]:
        fields = line.split("\t")
        if fields[0] == "D" and len(fields) == 3:
            current = []
            cache[fields[1]] = (fields[2], current)
        elif fields[0] == "E" and len(fields) == 6 and current is not None:
            current.append(EntryPoint(*fields[1:]))
    return cache


def _write_cache(path: str, cache: "Cache") -> None:
    from .ownfiles import UnsafePath
    from .safefs import write_own

    body = [_CACHE_FORMAT]
    for directory in sorted(cache):
        key, entries = cache[directory]
        body.append(f"D\t{directory}\t{key}")
        body += ["\t".join(("E", *e._values())) for e in entries]
    try:
        write_own(path, "\n".join(body).encode(), 0o600)
    except UnsafePath:
        pass  # a cache that cannot be written is only slower


_memo: "tuple[tuple[tuple[str, str | None], ...], list[EntryPoint], list[str]] | None" = None


def find(environ: "Mapping[str, str]", write: bool) -> "tuple[list[EntryPoint], list[str]]":
    """The installed plugins and the errors found (a name installed twice).

    From this process's memo, the caller's own cache for the directories it
    may change, or a fresh read of the others.
    """
    global _memo
    dirs = search_path()
    keys = tuple((d, _key(d)) for d in dirs)
    if _memo is not None and _memo[0] == keys:
        return _memo[1], _memo[2]
    try:
        path: str | None = cache_path(environ)
    except Exception:  # no home to keep a cache in (UserStoreError): only slower
        path = None
    cache = _read_cache(path) if path and any(k for _, k in keys) else {}
    fresh: Cache = {}
    found: list[EntryPoint] = []
    for directory, key in keys:
        if key is None:
            continue
        cached = cache.get(directory)
        writable = os.access(directory, os.W_OK)
        if cached is not None and cached[0] == key and writable:
            entries = cached[1]
        else:
            entries = scan_directory(directory)
        if writable:
            fresh[directory] = (key, entries)
        found += entries
    if path and write and any(cache.get(d) != v for d, v in fresh.items()):
        _write_cache(path, {**{d: v for d, v in cache.items() if d not in fresh}, **fresh})
    entries, errors = _unique(found)
    _memo = (keys, entries, errors)
    return entries, errors


def _unique(found: "list[EntryPoint]") -> "tuple[list[EntryPoint], list[str]]":
    by_name: dict[str, list[EntryPoint]] = {}
    for e in found:
        by_name.setdefault(e.name, []).append(e)
    entries, errors = [], []
    for name in sorted(by_name):
        same = by_name[name]
        if len({(e.value, e.where) for e in same}) > 1:
            places = " and ".join(f"{e.distribution} ({e.where})" for e in same[:3])
            errors.append(
                f"plugin {name!r} is installed twice: {places}; remove one (which one "
                "counts is never decided by sys.path order)"
            )
        else:
            entries.append(same[0])
    return entries, errors
