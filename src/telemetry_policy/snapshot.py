"""The snapshot ``apply`` compiles, and ``resolve()`` answering from it.

A telemetry client calls ``resolve()`` at every start, so asking must cost
it next to nothing (docs/authors.md#what-asking-costs-at-start). Finding, judging and parsing every
policy file (and importing ``tomllib`` to do it) costs more than the rest of
the decision, so ``apply`` writes ``/var/cache/telemetry-policy/policy.snapshot``
(``snapshot_build``): the policy layers it found under the root, what they
leave for each app, and the identity of everything it looked at to find them
(each directory listed, file read, link followed: device, inode, type, mode,
owner, size, modification and change times). A client uses it only if every
one of those is still exactly as it was: one ``stat`` each (and an ``access``
for each file read), no file opened.

This module only reads it: with a usable snapshot and no plugin installed,
``telemetry_policy.resolve()`` takes from it what step 2 of the resolution left for the app
(the values with their origins, compiled by ``layerindex.LayerIndex``) and
gives them to ``precedence.finish`` with the user's choice: the same function
the full resolution ends in, with other inputs (property-tested:
tests/test_snapshot.py). A decision's layers and platform are decoded from it
when first read. ``snapshot_build`` compiles it.

A snapshot can only cost time, never change the answer:

- stale: any file or directory edited, added, removed, re-linked, chmod'ed
  or chown'ed since has a new change time (which no one can set back), so
  the snapshot is not used and the files are read as if there were none;
  ``apply`` compiles only from files whose change time is older than a
  clock tick (two seconds where timestamps are whole seconds), so an edit
  made in the same tick as its reading cannot go unseen. On a read-only
  file system (an image: squashfs stores no change time, and a rebuilt image
  can repeat every other field) the change time proves nothing: there the
  snapshot also holds what each file read and directory listed held, and
  compares it;
- another caller: a file or directory the compiler could read and the caller
  cannot, or the other way round (the kernel's answer, ``access``: groups,
  ACLs, root without its capabilities), or whose owner is trusted for one and
  not the other (a file of the caller's own), is not used either;
- forged: it is read only if it is trusted as a policy file is (owned by
  root or the caller, writable by no one else, in a directory that passes
  the same check, not a link, not a FIFO): whoever could forge it could
  write policy files themselves;
- corrupt, truncated, from another version: ignored as a whole.

Its format is Python's ``marshal`` (read with no import at all), private to
this library; a client in another language asks ``telemetry-policy resolve
--json`` instead (docs/authors.md).
"""

# Annotations naming what only type checkers import are strings: a client imports
# this at every start, and `from __future__ import annotations` would import one
# module more (docs/authors.md#what-asking-costs-at-start).

import marshal
import os
import stat

from .paths import READ_FLAGS, join, read_all, trusted_owners, untrusted

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .model import Platform

PATH = "/var/cache/telemetry-policy/policy.snapshot"
FORMAT = ("telemetry-policy snapshot", 5)
_MAX = 64 * 1024 * 1024
# How discovery looked at a path (``locations`` notes each), so what of it counts:
TYPE = "t"  # what kind of file it is (not followed): a directory on the way
OWNER = "o"  # its owner: the root prefix (whose owner is trusted)
TRUST = "m"  # its owner and mode: a directory judged by the trust check
LINK = "l"  # all of it, not followed: a symlink that was followed
READ = "r"  # all of it, not followed: a file that was read
LIST = "d"  # all of it: a directory that was listed
_FULL = (LINK, READ, LIST)


def fingerprint(path: str, how: str) -> tuple[int | str, ...]:
    """What a change to ``path`` would change, as ``how`` looked at it; for a
    file read or a directory listed, also whether this caller may (the kernel's
    answer: groups, ACLs, capabilities, security modules all count)."""
    try:
        st = os.stat(path, follow_symlinks=how in (OWNER, TRUST, LIST))
    except OSError as e:
        return ("E", e.errno or 0)
    if how == TYPE:
        return (stat.S_IFMT(st.st_mode),)
    if how == OWNER:
        return (st.st_uid,)
    if how == TRUST:
        return (st.st_mode, st.st_uid)
    may = -1
    if how == READ:
        may = os.access(path, os.R_OK, effective_ids=True)
    elif how == LIST:
        may = os.access(path, os.R_OK | os.X_OK, effective_ids=True)
    return (
        st.st_mode, st.st_uid, st.st_ino, st.st_dev, st.st_nlink, st.st_gid,
        st.st_size, st.st_mtime_ns, st.st_ctime_ns, int(may),
    )  # fmt: skip


def content(path: str, how: str) -> "bytes | tuple[str, ...] | None":
    """What a file read holds, or the names a directory listed holds (for
    paths whose change time proves nothing: read-only file systems)."""
    if how == LIST:
        try:
            return tuple(sorted(os.listdir(path)))
        except OSError:
            return None
    return _read_file(path, None)


def _read_file(path: str, trusted: "frozenset[int] | None") -> "bytes | None":
    """The regular file at ``path`` (not through a final link, never blocking),
    or None; with ``trusted``, only if it may be trusted as a policy file is."""
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX:
            return None
        if trusted is not None and untrusted("", st, trusted):
            return None
        return read_all(fd, st.st_size)
    except OSError:
        return None
    finally:
        os.close(fd)


def _usable(
    seen: object, compiled_owners: object, root_owners: frozenset[int], contents: object
) -> bool:
    """Is every recorded path as it was, judged as the compiler judged it?"""
    if type(seen) is not tuple or type(compiled_owners) is not frozenset:
        return False
    if type(contents) is not tuple:
        return False
    for path, how, fp in seen:
        # Any difference, also in what this caller may read: the compiler could
        # read a file this caller cannot, or the other way round.
        if fingerprint(path, how) != fp:
            return False
        if fp[0] == "E" or how not in (TRUST, READ, LIST):
            continue
        if (fp[1] in compiled_owners) != (fp[1] in root_owners):
            return False  # trusted for one caller and not the other
    return all(content(path, how) == held for path, how, held in contents)


def _read(path: str, trusted: frozenset[int]) -> bytes | None:
    """The snapshot's bytes, if it may be trusted as a policy file is."""
    try:
        holder = os.lstat(os.path.dirname(path))
    except OSError:
        return None
    if not stat.S_ISDIR(holder.st_mode) or untrusted("", holder, trusted):
        return None
    return _read_file(path, trusted)


def _text(value: object) -> str:
    if type(value) is not str:
        raise ValueError("not a string")
    return value


def _strings(value: object) -> tuple[str, ...]:
    if type(value) is not tuple:
        raise ValueError("not a tuple")
    return tuple(_text(v) for v in value)


class Snapshot:
    """A usable snapshot: what step 2 left for each app named in policy (and,
    under None, for any other), the problems of the policy files, and the
    layers and platform that explain them."""

    def __init__(self, encoded: "tuple[Any, ...]", system: "dict[Any, Any]", problems: "Any",
                 platform: "Any") -> None:  # fmt: skip
        self.encoded = encoded
        self.system = system
        self.problems: tuple[str, ...] = _strings(problems)
        self.platform_read = platform

    def values(self, app: "str | None") -> "tuple[Any, ...]":
        """``precedence.Values.plain()`` of what the layers leave for ``app``."""
        found = self.system.get(app, self.system[None])
        if type(found) is not tuple:
            raise ValueError("not values")
        return found

    def platform(self) -> "Platform":
        """The platform as the compiler read it; raises PlatformError with the
        compiler's reason if it could not be read."""
        from .errors import PlatformError
        from .model import Platform

        found = self.platform_read
        if found is None or found[0] != "ok":
            raise PlatformError(_text(found[1]) if found else "not read")
        _, id_, version, like = found
        return Platform(_text(id_), _text(version), _strings(like))


def load(root: str) -> "Snapshot | None":
    """The snapshot of ``root``, or None when there is none this caller may use
    as it is (then the files are read)."""
    trusted = trusted_owners(root)
    data = _read(join(root, PATH), trusted)
    if data is None:
        return None
    try:
        header, for_root, compiled_owners, seen, contents, encoded, system, problems, platform = (
            marshal.loads(data)
        )
        if header != FORMAT or for_root != root or type(encoded) is not tuple:
            return None
        if type(system) is not dict or None not in system:
            return None
        if not _usable(seen, compiled_owners, trusted, contents):
            return None
        return Snapshot(encoded, system, problems, platform)
    except Exception:  # anything unreadable is no snapshot: only slower
        return None
