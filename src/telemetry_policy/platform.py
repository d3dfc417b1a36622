"""The platform a policy is judged on: the root's os-release (``[when]``
conditions themselves are judged in ``conditions``).

The root's own os-release is read only when a file has ``[when]``, as the
os-release specification says (``/etc/os-release``, else
``/usr/lib/os-release``; links resolved inside the root), and strictly: a file
that is missing, unreadable, not a regular file, not UTF-8 or not parseable
is an error, and every file with ``[when]`` then fails closed. ``ID``,
``ID_LIKE`` and ``VERSION_ID`` mean what ``distro.id()``, ``like()`` and
``version()`` return for them.
"""

from __future__ import annotations

import os

from .errors import PlatformError
from .model import Platform

__all__ = ["PlatformError", "detect", "parse_os_release"]

_NORMALIZED = {"ol": "oracle", "opensuse-leap": "opensuse"}  # as distro normalizes IDs
_OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")


def _read_os_release(root: str) -> tuple[str, str]:
    """(path shown, text) of the root's os-release. Raises PlatformError."""
    import errno
    import stat

    from .locations import _note, _Unusable, chase
    from .paths import READ_FLAGS, join, kind_of
    from .snapshot import READ

    for candidate in _OS_RELEASE:
        shown = join(root, candidate)
        try:
            real = join(root, chase(root, candidate))
        except _Unusable as e:
            if e.missing:
                continue
            raise PlatformError(f"{shown}: {e.reason}") from None
        _note(real, READ)
        try:
            fd = os.open(real, READ_FLAGS)
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
