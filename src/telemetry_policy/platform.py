"""The platform a policy is judged on, and ``[when]`` conditions.

The root's own os-release is read only when a file has ``[when]``, as the
os-release specification says (``/etc/os-release``, else
``/usr/lib/os-release``; links resolved inside the root), and strictly: a file
that is missing, unreadable, not a regular file, not UTF-8 or not parseable
is an error, and every file with ``[when]`` then fails closed. ``ID``,
``ID_LIKE`` and ``VERSION_ID`` mean what ``distro.id()``, ``like()`` and
``version()`` return for them.
"""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Callable

from .errors import PolicyError
from .model import Platform
from .policyfile import VERSION_EXPR
from .policymodel import Condition

_OPS: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class PlatformError(PolicyError):
    """The platform cannot be read: ``[when]`` cannot be judged."""


_NORMALIZED = {"ol": "oracle", "opensuse-leap": "opensuse"}  # as distro normalizes IDs
_OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")


def _read_os_release(root: str) -> tuple[str, str]:
    """(path shown, text) of the root's os-release. Raises PlatformError."""
    import errno
    import stat

    from .locations import _join, _note, _Unusable, chase
    from .ownfiles import kind_of
    from .snapshot import READ

    for candidate in _OS_RELEASE:
        shown = _join(root, candidate)
        try:
            real = _join(root, chase(root, candidate))
        except _Unusable as e:
            if e.missing:
                continue
            raise PlatformError(f"{shown}: {e.reason}") from None
        _note(real, READ)
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as e:
            if e.errno == errno.ENOENT:
                continue
            raise PlatformError(f"{shown}: cannot read: {e.strerror}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise PlatformError(f"{shown}: {kind_of(st.st_mode)}, not a regular file")
            data = os.read(fd, 65536)
        except OSError as e:
            raise PlatformError(f"{shown}: cannot read: {e.strerror}") from None
        finally:
            os.close(fd)
        try:
            return shown, data.decode("utf-8")
        except UnicodeDecodeError:
            raise PlatformError(f"{shown}: not UTF-8 text") from None
    raise PlatformError(f"no os-release under {root} ({' or '.join(_OS_RELEASE)})")


def parse_os_release(text: str, shown: str) -> dict[str, str]:
    """KEY=value assignments, shell-quoted as the specification allows."""
    import shlex

    values = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            values[key.strip()] = " ".join(shlex.split(value, comments=False, posix=True))
        except ValueError as e:
            raise PlatformError(f"{shown}:{number}: cannot be parsed ({e})") from None
    return values


def detect(root: str = "/") -> Platform:
    """Read the distribution of ``root`` from its os-release file. Raises PlatformError."""
    shown, text = _read_os_release(root)
    values = parse_os_release(text, shown)
    found = values.get("ID", "linux").lower().replace(" ", "_")
    return Platform(
        _NORMALIZED.get(found, found),
        values.get("VERSION_ID", ""),
        tuple(values.get("ID_LIKE", "").lower().split()),
    )


def _numeric(version: str) -> tuple[int, ...] | None:
    parts = version.strip().split(".")
    if not version.strip() or not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def compare_versions(expr: str, version: str) -> bool | None:
    """``compare_versions(">=12", "12.4")`` -> True; None when ``version``
    is not a dotted number (the condition is then false)."""
    m = re.fullmatch(VERSION_EXPR, expr)
    have = _numeric(version)
    if m is None or have is None:
        return None
    want = tuple(int(p) for p in m.group(2).split("."))
    # compare component by component, padding with zeros (12 == 12.0)
    width = max(len(want), len(have))
    want += (0,) * (width - len(want))
    have += (0,) * (width - len(have))
    return _OPS[m.group(1) or "=="](have, want)


def holds(when: Condition, platform: Platform) -> tuple[bool, str]:
    """Whether a ``[when]`` table holds, and if not, why not (for audit)."""
    if when.distro is not None:
        names = {platform.id, *platform.like}
        if not names.intersection(when.distro):
            have = platform.id or "unknown"
            like = f" (like {' '.join(platform.like)})" if platform.like else ""
            return (
                False,
                f"[when] distro = {list(when.distro)} does not match {have}{like}",
            )
    if when.distro_version is not None:
        result = compare_versions(when.distro_version, platform.version)
        if result is None:
            return False, (
                f"[when] distro_version {when.distro_version!r}: "
                f"this system's version {platform.version!r} is not numeric"
            )
        if not result:
            return False, (
                f"[when] distro_version {when.distro_version!r} does not match "
                f"version {platform.version}"
            )
    return True, ""
